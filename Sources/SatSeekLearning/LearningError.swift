/// Errors of the learning layer, each naming what was wrong.
public enum LearningError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidConfiguration(String)
    /// The loss stopped being finite.
    case diverged(String)
    /// A head file that cannot be read.
    case invalidHeadFile(path: String, reason: String)
    /// A sketch adapter or pairs file that cannot be read (the reason says which kind it is not).
    case invalidFile(path: String, reason: String)
    /// A head file written by a newer SatSeek.
    case unsupportedHeadVersion(path: String, found: UInt32, supported: UInt32)
    /// A head trained on one backbone used with embeddings of another.
    case backboneMismatch(path: String, headBackbone: String, requested: String)

    /// A complete message naming the file or setting at fault.
    public var description: String {
        switch self {
        case let .invalidConfiguration(message), let .diverged(message):
            return message
        case let .invalidFile(path, reason):
            return "\(path): \(reason)"
        case let .invalidHeadFile(path, reason):
            return "\(path): not a usable SatSeek head file: \(reason)"
        case let .unsupportedHeadVersion(path, found, supported):
            return
                "\(path): head file format version \(found) is newer than this SatSeek supports (\(supported)); upgrade SatSeek"
        case let .backboneMismatch(path, headBackbone, requested):
            return "\(path): the head was trained on backbone '\(headBackbone)' but is used with '\(requested)'; "
                + "train a head for '\(requested)' or index with the head's backbone"
        }
    }
}
