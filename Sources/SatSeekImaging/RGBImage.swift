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

    /// The rectangle `x..<x + width`, `y..<y + height`, clamped to the image (at least 1 × 1 of a
    /// non-empty image).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        guard self.width > 0, self.height > 0 else { return self }
        let left = min(max(0, x), self.width - 1), top = min(max(0, y), self.height - 1)
        let w = max(1, min(width, self.width - left)), h = max(1, min(height, self.height - top))
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for row in 0..<h {
            let from = ((top + row) * self.width + left) * 3
            out[(row * w * 3)..<((row + 1) * w * 3)] = pixels[from..<(from + w * 3)]
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
