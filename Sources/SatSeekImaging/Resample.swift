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
private func clip8(_ value: Int32) -> UInt8 {
    UInt8(truncatingIfNeeded: min(max(value >> Int32(precisionBits), 0), 255))
}

/// ``clip8(_:)`` lane by lane: `(sum >> 22)` clamped to 0…255 is Pillow's clip8 (a sum ≤ 0 shifts to 0 or −1,
/// one ≥ 256 · 2^22 to ≥ 256). Clamped with sign masks — `v & ~(v >> 31)` zeroes negatives, `v | ((255 − v) >> 31)`
/// sets every bit of a value above 255 — because `clamped(lowerBound:upperBound:)` and `replace(with:where:)`
/// were left as calls or split into scalar code.
@inline(__always)
private func clip8(_ value: SIMD16<Int32>) -> SIMD16<UInt8> {
    let shifted = value &>> Int32(precisionBits)
    let nonNegative = shifted & ~(shifted &>> 31)
    return SIMD16<UInt8>(truncatingIfNeeded: nonNegative | ((255 &- nonNegative) &>> 31))
}

/// ``clip8(_:)`` on one pixel's sums (R, G, B and a discarded fourth lane).
@inline(__always)
private func clip8(_ value: SIMD4<Int32>) -> SIMD4<UInt8> {
    let shifted = value &>> Int32(precisionBits)
    let nonNegative = shifted & ~(shifted &>> 31)
    return SIMD4<UInt8>(truncatingIfNeeded: nonNegative | ((255 &- nonNegative) &>> 31))
}

// Sums are 32-bit, as in Pillow: |Σ sample · weight| ≤ 255 · Σ|w| < 255 · 1.3 · 2^22 < 2^31, so the
// wrapping operators never wrap.

/// Each output pixel is Σ taps of interleaved RGB pixels: the three channels go through one SIMD4 lane
/// group (the fourth lane carries the next pixel's red, multiplied and discarded), even and odd taps in two
/// sums so consecutive multiply-adds do not wait on each other. Each pixel is stored as four bytes, the
/// fourth overwritten by the next pixel (the output has one spare byte for the last).
private func horizontalPass(
    _ input: [UInt8], inWidth: Int, rows: Range<Int>,
    coefficients c: ResampleCoefficients
) -> [UInt8] {
    let outWidth = c.bounds.count
    var output = [UInt8](repeating: 0, count: outWidth * rows.count * 3 + 1)
    let half = Int32(1 << (precisionBits - 1))
    @inline(__always) func pixel(_ at: UnsafeRawPointer) -> SIMD4<Int32> {
        SIMD4<Int32>(truncatingIfNeeded: at.loadUnaligned(as: SIMD4<UInt8>.self))
    }
    input.withUnsafeBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { k in
                c.bounds.withUnsafeBufferPointer { bounds in
                    let base = UnsafeRawPointer(src.baseAddress!)
                    var out = UnsafeMutableRawPointer(dst.baseAddress!)
                    for y in rows {
                        let row = base + y * inWidth * 3
                        // A 4-byte load of the row's last pixel reads one byte past the image on its last row.
                        let safeEnd = (y + 1) * inWidth * 3 < src.count ? inWidth : inWidth - 1
                        for x in 0..<outWidth {
                            let (start, count) = bounds[x]
                            let weights = k.baseAddress! + x * c.kernelSize
                            var even = SIMD4<Int32>(repeating: half), odd = SIMD4<Int32>.zero
                            if start + count <= safeEnd {
                                var p = row + start * 3
                                var t = 0
                                while t + 2 <= count {
                                    even &+= pixel(p) &* weights[t]
                                    odd &+= pixel(p + 3) &* weights[t + 1]
                                    p += 6
                                    t += 2
                                }
                                if t < count { even &+= pixel(p) &* weights[t] }
                            } else {
                                for t in 0..<count {
                                    let p = (y * inWidth + start + t) * 3
                                    let rgb =
                                        start + t < safeEnd
                                        ? pixel(base + p)
                                        : SIMD4<Int32>(Int32(src[p]), Int32(src[p + 1]), Int32(src[p + 2]), 0)
                                    even &+= rgb &* weights[t]
                                }
                            }
                            out.storeBytes(of: clip8(even &+ odd), as: SIMD4<UInt8>.self)
                            out += 3
                        }
                    }
                }
            }
        }
    }
    output.removeLast()
    return output
}

/// Each output row is Σ taps of whole input rows: 16 samples at a time, then a scalar tail.
private func verticalPass(
    _ input: [UInt8], width: Int, outHeight: Int,
    coefficients c: ResampleCoefficients
) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: width * outHeight * 3)
    let half = Int32(1 << (precisionBits - 1))
    let stride = width * 3
    input.withUnsafeBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { k in
                let base = UnsafeRawPointer(src.baseAddress!)
                let out = UnsafeMutableRawPointer(dst.baseAddress!)
                for y in 0..<outHeight {
                    let (start, count) = c.bounds[y]
                    let kBase = y * c.kernelSize
                    var i = 0
                    while i + 16 <= stride {
                        var sum = SIMD16<Int32>(repeating: half)
                        for t in 0..<count {
                            let row = base.loadUnaligned(
                                fromByteOffset: (start + t) * stride + i, as: SIMD16<UInt8>.self)
                            sum &+= SIMD16<Int32>(truncatingIfNeeded: row) &* k[kBase + t]
                        }
                        out.storeBytes(of: clip8(sum), toByteOffset: y * stride + i, as: SIMD16<UInt8>.self)
                        i += 16
                    }
                    while i < stride {
                        var sum = half
                        for t in 0..<count {
                            sum &+= Int32(src[(start + t) * stride + i]) &* k[kBase + t]
                        }
                        dst[y * stride + i] = clip8(sum)
                        i += 1
                    }
                }
            }
        }
    }
    return output
}
