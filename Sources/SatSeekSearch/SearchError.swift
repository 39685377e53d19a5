import Foundation

/// Errors of the search layer, each naming what was wrong.
public enum SearchError: Error, CustomStringConvertible, Sendable {
    case invalidInput(String)
    case notFound(String)

    public var description: String {
        switch self {
        case let .invalidInput(message), let .notFound(message): return message
        }
    }
}
