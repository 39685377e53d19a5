/// Model input preparation, matching PIL + torchvision's
/// `Resize(R) → CenterCrop(R) → ToTensor() → Normalize(mean, std)` on an RGB PIL image:
///
/// 1. Resize so the shorter side is `resolution` and the longer side is
///    `Int(resolution * long / short)` (truncated), with Pillow's antialiased ``filter`` (BILINEAR by default, BICUBIC for CLIP;
///    ``resizeAntialiased(_:width:height:filter:)``); skipped when the size already matches.
/// 2. Center crop to `resolution × resolution`, the offsets `round((side - resolution) / 2)` with
///    Python's round-half-to-even.
/// 3. Scale each 8-bit sample to 0…1 (`v / 255`) and normalise per channel, `(v - mean) / std`,
///    in `Float` arithmetic, into a CHW tensor.
public struct Preprocessing: Sendable {
    /// Output side length in pixels.
    public var resolution: Int
    /// Per-channel (R, G, B) mean subtracted after scaling to 0…1.
    public var mean: (Float, Float, Float)
    /// Per-channel (R, G, B) standard deviation divided by after subtracting the mean.
    public var std: (Float, Float, Float)
    /// Pillow filter of step 1 (bilinear unless the model was trained otherwise, e.g. CLIP's bicubic).
    public var filter: ResampleFilter = .bilinear

    /// ImageNet channel means, `(0.485, 0.456, 0.406)`.
    public static let imageNetMean: (Float, Float, Float) = (0.485, 0.456, 0.406)
    /// ImageNet channel standard deviations, `(0.229, 0.224, 0.225)`.
    public static let imageNetStd: (Float, Float, Float) = (0.229, 0.224, 0.225)

    /// Creates preprocessing to `resolution × resolution` with ImageNet mean and std.
    /// - Parameter resolution: Output side length (≥ 1).
    public init(resolution: Int) {
        self.init(resolution: resolution, mean: Self.imageNetMean, std: Self.imageNetStd)
    }

    /// Creates preprocessing with explicit normalisation constants.
    /// - Parameters:
    ///   - resolution: Output side length (≥ 1).
    ///   - mean: Per-channel mean (R, G, B).
    ///   - std: Per-channel standard deviation (R, G, B).
    public init(
        resolution: Int, mean: (Float, Float, Float), std: (Float, Float, Float),
        filter: ResampleFilter = .bilinear
    ) {
        precondition(resolution > 0, "Preprocessing: resolution must be positive")
        self.resolution = resolution
        self.mean = mean
        self.std = std
        self.filter = filter
    }

    /// Number of floats in one output tensor, `3 * resolution * resolution`.
    public var tensorCount: Int { 3 * resolution * resolution }

    /// The size step 1 resizes a `width × height` image to (shorter side = `resolution`).
    /// - Returns: The new `(width, height)`.
    public static func resizedSize(width: Int, height: Int, resolution: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(resolution * long) / Double(short))  // Python int(R * long / short)
        return width <= height ? (resolution, newLong) : (newLong, resolution)
    }

    /// torchvision's center-crop offset along one axis: `int(round((size - crop) / 2.0))`,
    /// rounding halves to even as Python does.
    public static func cropOffset(size: Int, crop: Int) -> Int {
        Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }

    /// Steps 1–2: the resized, center-cropped 8-bit image, `resolution × resolution`.
    public func resizedAndCropped(_ image: RGBImage) -> RGBImage {
        let size = Self.resizedSize(width: image.width, height: image.height, resolution: resolution)
        let resized = resizeAntialiased(image, width: size.width, height: size.height, filter: filter)
        if resized.width == resolution && resized.height == resolution { return resized }
        let left = Self.cropOffset(size: resized.width, crop: resolution)
        let top = Self.cropOffset(size: resized.height, crop: resolution)
        var pixels = [UInt8](repeating: 0, count: resolution * resolution * 3)
        let rowBytes = resolution * 3
        for y in 0..<resolution {
            let from = ((top + y) * resized.width + left) * 3
            pixels[(y * rowBytes)..<((y + 1) * rowBytes)] = resized.pixels[from..<(from + rowBytes)]
        }
        return RGBImage(width: resolution, height: resolution, pixels: pixels)
    }

    /// Writes the CHW float32 tensor for `image` into `output` (for filling a batch in place).
    /// - Parameters:
    ///   - image: The decoded image, any size.
    ///   - output: At least ``tensorCount`` floats; the first ``tensorCount`` are written as
    ///     channel planes R, G, B, each row-major `resolution × resolution`.
    public func write(_ image: RGBImage, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(
            output.count >= tensorCount,
            "Preprocessing.write: buffer holds \(output.count) floats, needs \(tensorCount)")
        let cropped = resizedAndCropped(image)
        let plane = resolution * resolution
        // Each 8-bit level's normalised value, per channel: the same Float expression, looked up.
        var levels = [Float](repeating: 0, count: 3 * 256)
        for (channel, (m, s)) in [(mean.0, std.0), (mean.1, std.1), (mean.2, std.2)].enumerated() {
            for v in 0..<256 { levels[channel * 256 + v] = (Float(v) / 255 - m) / s }
        }
        cropped.pixels.withUnsafeBufferPointer { pixels in
            levels.withUnsafeBufferPointer { levels in
                let out = output.baseAddress!
                for i in 0..<plane {
                    out[i] = levels[Int(pixels[i * 3])]
                    out[plane + i] = levels[256 + Int(pixels[i * 3 + 1])]
                    out[2 * plane + i] = levels[512 + Int(pixels[i * 3 + 2])]
                }
            }
        }
    }

    /// The CHW float32 tensor (``tensorCount`` values) for `image`.
    public func tensor(_ image: RGBImage) -> [Float] {
        [Float](unsafeUninitializedCapacity: tensorCount) { buffer, initialized in
            write(image, into: buffer)
            initialized = tensorCount
        }
    }
}
