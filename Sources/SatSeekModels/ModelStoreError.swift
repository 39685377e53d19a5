import Foundation

/// Errors finding or installing models.
public enum ModelStoreError: Error, CustomStringConvertible {
    case unknownModel(String, known: [String])
    case notInstalled(String, directory: String, hint: String)
    case installFailed(String, reason: String)
    /// An installed asset file that cannot be used.
    case invalidAsset(String, reason: String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known):
            return "unknown model '\(name)'; known models: \(known.joined(separator: ", "))"
        case let .notInstalled(name, directory, hint):
            return "model '\(name)' is not installed in \(directory); run `\(hint)` (or set SATSEEK_MODEL_DIR)"
        case let .installFailed(name, reason):
            return "installing \(name) failed: \(reason)"
        case let .invalidAsset(path, reason):
            return "\(path): \(reason); reinstall it with `satseek models install`"
        }
    }
}

extension ModelStore {
    /// The error for a model or asset `satseek models install NAME` would install.
    func notInstalled(_ name: String) -> ModelStoreError {
        .notInstalled(name, directory: directory.path, hint: "satseek models install \(name)")
    }
}
