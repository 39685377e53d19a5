import Foundation

/// Errors of collection commands; each names the collection or item.
public enum CollectionError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownCollection(path: String, name: String, known: [String])
    case nameTaken(path: String, name: String)
    case invalidName(String)
    case unknownItems(path: String, ids: [Int64])
    case invalidLabel(Int)

    public var description: String {
        switch self {
        case let .unknownCollection(path, name, known):
            return "\(path): no collection named '\(name)'"
                + (known.isEmpty ? " (the catalog has none)" : " (known: \(known.prefix(10).joined(separator: ", ")))")
        case let .nameTaken(path, name):
            return "\(path): a collection named '\(name)' already exists; choose another name or remove it first"
        case let .invalidName(name):
            return "invalid collection name '\(name.prefix(80))': 1…100 characters, not only spaces"
        case let .unknownItems(path, ids):
            return "\(path): no item with id \(ids.prefix(10).map(String.init).joined(separator: ", "))"
        case let .invalidLabel(label):
            return "label must be +1 or -1 (got \(label))"
        }
    }
}
