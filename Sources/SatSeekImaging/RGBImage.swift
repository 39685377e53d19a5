import Foundation

/// An 8-bit RGB image: rows top to bottom, pixels interleaved `R, G, B` (HWC layout).
///
/// `pixels.count` is always `width * height * 3`.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Interleaved RGB samples, `pixels[(y * width + x) * 3 + channel]`.
    public var pixels: [UInt8]

    /// Creates an image from interleaved RGB samples.
    /// - Parameters:
    ///   - width: Width in pixels (≥ 0).
    ///   - height: Height in pixels (≥ 0).
    ///   - pixels: `width * height * 3` samples, rows top to bottom, pixels interleaved RGB.
    /// - Precondition: `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                      "RGBImage: \(pixels.count) samples for \(width)×\(height)×3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The `(r, g, b)` triple at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

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
