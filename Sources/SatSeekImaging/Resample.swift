/// Resizes like Pillow's `Image.resize((width, height), Image.BILINEAR)` on an RGB image.
///
/// This is a port of Pillow 13's `ImagingResample` (libImaging/Resample.c): a separable triangle
/// filter whose support grows with the downscale factor (so downscaling is antialiased), weights
/// normalised per output pixel and converted to 22-bit fixed point, one pass per axis with 8-bit
/// rounding and clipping after each. The horizontal pass runs first (over only the rows the vertical
/// pass reads) unless the height shrinks by more than twice as many pixels as the width does, in
/// which case Pillow — and this port — runs the vertical pass first. Results match Pillow 13
/// exactly; Pillow releases before the pass-order rule always ran horizontal first, which differs by
/// at most one level in a few pixels.
/// - Parameters:
///   - image: The source image.
///   - width: Output width (≥ 1).
///   - height: Output height (≥ 1).
/// - Returns: The resized image (the input itself when the size is unchanged).
public func resizeBilinearAntialiased(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    resizeAntialiased(image, width: width, height: height, filter: .bilinear)
}

/// Pillow's resampling filters that SatSeek's models were trained with.
public enum ResampleFilter: String, Sendable {
    /// Triangle filter, support 1 (`Image.BILINEAR`): EfficientNet, ResNet (torchvision's default).
    case bilinear
    /// Keys cubic with a = −0.5, support 2 (`Image.BICUBIC`): CLIP's preprocessing.
    case bicubic

    var support: Double { self == .bilinear ? 1 : 2 }

    /// Pillow's `bilinear_filter` / `bicubic_filter`.
    func weight(_ x: Double) -> Double {
        let t = abs(x)
        switch self {
        case .bilinear:
            return t < 1 ? 1 - t : 0
        case .bicubic:
            let a = -0.5
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        }
    }
}

/// ``resizeBilinearAntialiased(_:width:height:)`` with a choice of Pillow filter (same passes, same
/// fixed-point arithmetic; only the filter taps differ).
public func resizeAntialiased(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
    precondition(width > 0 && height > 0, "resizeAntialiased: bad size \(width)×\(height)")
    precondition(image.width > 0 && image.height > 0, "resizeAntialiased: empty image")
    let needHorizontal = width != image.width, needVertical = height != image.height
    if !needHorizontal && !needVertical { return image }
    let horizontal = ResampleCoefficients(inSize: image.width, outSize: width, filter: filter)
    var vertical = ResampleCoefficients(inSize: image.height, outSize: height, filter: filter)
    let shrinkY = image.height - height, shrinkX = image.width - width
    let horizontalFirst = !(shrinkY > 0 && shrinkY > shrinkX * 2)

    var pixels = image.pixels
    if horizontalFirst {
        if needHorizontal {
            // Only the rows the vertical pass will read.
            let firstRow = vertical.bounds[0].start
            let lastRow = vertical.bounds[height - 1].start + vertical.bounds[height - 1].count
            for i in vertical.bounds.indices { vertical.bounds[i].start -= firstRow }
            pixels = horizontalPass(pixels, inWidth: image.width, rows: firstRow..<lastRow, coefficients: horizontal)
        }
        if needVertical {
            pixels = verticalPass(pixels, width: width, outHeight: height, coefficients: vertical)
        }
    } else {
        pixels = verticalPass(pixels, width: image.width, outHeight: height, coefficients: vertical)
        if needHorizontal {
            pixels = horizontalPass(pixels, inWidth: image.width, rows: 0..<height, coefficients: horizontal)
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Pillow's fixed-point precision for 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
private let precisionBits = 22

/// Per-output-pixel filter taps along one axis, as in Pillow's `precompute_coeffs` +
/// `normalize_coeffs_8bpc`.
struct ResampleCoefficients {
    /// First input index and number of taps for each output index.
    var bounds: [(start: Int, count: Int)]
    /// `kernelSize` fixed-point weights per output index (unused taps are 0).
    let weights: [Int32]
    /// Maximum number of taps.
    let kernelSize: Int

    init(inSize: Int, outSize: Int, filter: ResampleFilter = .bilinear) {
        let support = filter.support
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let scaledSupport = support * filterScale
        let kernelSize = Int(scaledSupport.rounded(.up)) * 2 + 1
        var bounds: [(start: Int, count: Int)] = []
        bounds.reserveCapacity(outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var taps = [Double](repeating: 0, count: kernelSize)
        let inverseScale = 1.0 / filterScale
        for out in 0..<outSize {
            let center = (Double(out) + 0.5) * scale
            // C's (int) cast truncates toward zero; the arguments here are > -1, as in Pillow.
            let xmin = max(Int(center - scaledSupport + 0.5), 0)
            let xmax = min(Int(center + scaledSupport + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<xmax {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverseScale)
                taps[x] = w
                total += w
            }
            for x in 0..<xmax {
                let w = total != 0 ? taps[x] / total : taps[x]
                let fixed = w * Double(1 << precisionBits)
                weights[out * kernelSize + x] = Int32(w < 0 ? (-0.5 + fixed) : (0.5 + fixed))
            }
            bounds.append((xmin, xmax))
        }
        self.bounds = bounds
        self.weights = weights
        self.kernelSize = kernelSize
    }
}

/// Pillow's `clip8`: fixed-point sum → 0…255.
@inline(__always)
private func clip8(_ value: Int) -> UInt8 {
    if value >= (1 << precisionBits) << 8 { return 255 }
    if value <= 0 { return 0 }
    return UInt8(truncatingIfNeeded: value >> precisionBits)
}

private func horizontalPass(_ input: [UInt8], inWidth: Int, rows: Range<Int>,
                            coefficients c: ResampleCoefficients) -> [UInt8] {
    let outWidth = c.bounds.count
    var output = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
    let half = 1 << (precisionBits - 1)
    input.withUnsafeBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { k in
                for (outRow, y) in rows.enumerated() {
                    let rowBase = y * inWidth * 3
                    for x in 0..<outWidth {
                        let (start, count) = c.bounds[x]
                        let kBase = x * c.kernelSize
                        var s0 = half, s1 = half, s2 = half
                        for t in 0..<count {
                            let w = Int(k[kBase + t])
                            let p = rowBase + (start + t) * 3
                            s0 += Int(src[p]) * w
                            s1 += Int(src[p + 1]) * w
                            s2 += Int(src[p + 2]) * w
                        }
                        let o = (outRow * outWidth + x) * 3
                        dst[o] = clip8(s0); dst[o + 1] = clip8(s1); dst[o + 2] = clip8(s2)
                    }
                }
            }
        }
    }
    return output
}

private func verticalPass(_ input: [UInt8], width: Int, outHeight: Int,
                          coefficients c: ResampleCoefficients) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: width * outHeight * 3)
    let half = 1 << (precisionBits - 1)
    let stride = width * 3
    input.withUnsafeBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { k in
                for y in 0..<outHeight {
                    let (start, count) = c.bounds[y]
                    let kBase = y * c.kernelSize
                    for i in 0..<stride {
                        var s = half
                        for t in 0..<count {
                            s += Int(src[(start + t) * stride + i]) * Int(k[kBase + t])
                        }
                        dst[y * stride + i] = clip8(s)
                    }
                }
            }
        }
    }
    return output
}
