import Foundation

/// A failure to read or decode an image, naming the file and the reason.
///
/// `reason` is one of a small set of phrases callers can show to users, for example
/// `"file does not exist"`, `"empty file (0 bytes)"`, `"not a recognised image format"` or
/// `"truncated or corrupt image data (GDAL: …)"`.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path (or upload name) of the image that failed.
    public let path: String
    /// Why it failed, in words.
    public let reason: String

    /// Creates an error for `path` with `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `"<path>: <reason>"`.
    public var description: String { "\(path): \(reason)" }

    static let missing = "file does not exist"
    static let empty = "empty file (0 bytes)"
    static let unrecognised = "not a recognised image format"
    static func corrupt(_ gdalMessage: String) -> String {
        "truncated or corrupt image data (GDAL: \(gdalMessage))"
    }
}
