import Foundation

/// A store or search error a caller can show as is.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The request cannot be answered as given (wrong vector length, NaN, bad k, …).
    case invalidInput(store: String, reason: String)

    public var description: String {
        switch self {
        case .invalidInput(let store, let reason): return "\(store): \(reason)"
        }
    }
}
