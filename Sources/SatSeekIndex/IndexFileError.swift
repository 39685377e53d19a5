import Foundation

/// Why an index file could not be opened or written. Every case names the file.
public enum IndexFileError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, read or mapped (`reason` is the OS message).
    case unreadable(path: String, reason: String)
    /// The file is shorter than its header says (e.g. an interrupted copy).
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file does not start with the SatSeek index magic.
    case notAnIndexFile(path: String)
    /// The file was written by an incompatible format version.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// The stored checksum does not match the bytes (`part` is "header" or "payload").
    case checksumMismatch(path: String, part: String)
    /// The index was built with a different embedding model.
    case wrongModel(path: String, expected: String, found: String)
    /// The file holds another kind of index than the one requested.
    case wrongKind(path: String, expected: IndexKind, found: UInt8)
    /// The file is structurally inconsistent (`reason` says how).
    case corrupt(path: String, reason: String)
    /// Writing failed; the previous file at `path`, if any, is untouched.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): cannot read index file: \(reason)"
        case let .truncated(path, expected, actual):
            "\(path): index file is truncated (\(actual) bytes, header expects \(expected))"
        case let .notAnIndexFile(path): "\(path): not a SatSeek index file (bad magic)"
        case let .unsupportedVersion(path, found, supported):
            "\(path): index format version \(found) is not supported (this build reads version \(supported))"
        case let .checksumMismatch(path, part): "\(path): \(part) checksum mismatch (file is corrupt)"
        case let .wrongModel(path, expected, found):
            "\(path): index was built with model '\(found)', expected '\(expected)'"
        case let .wrongKind(path, expected, found):
            "\(path): expected a \(expected) index, file holds kind \(IndexKind(rawValue: found)?.description ?? "#\(found)")"
        case let .corrupt(path, reason): "\(path): corrupt index file: \(reason)"
        case let .writeFailed(path, reason): "\(path): cannot write index file: \(reason)"
        }
    }
}
