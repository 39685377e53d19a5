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
        precondition(
            pixels.count == width * height * 3,
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
