import COpenBLAS

// Channels-last kernels: one image as `pixels × channels` (NHWC without the N), each pixel's channels
// contiguous. EfficientNet-Lite runs in this layout because its late layers have small planes (14×14,
// 7×7) and many channels: the channel count, always a multiple of 8 there, becomes the vector axis, so
// depthwise taps are full SIMD loads with no row-edge handling, and the 1×1 convolutions' bias and
// activation run over contiguous channel rows.

/// Loads eight floats from any address.
@inline(__always)
func loadVector(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

/// `value` limited to `lower…upper` lane by lane (two compares and blends; no bounds check).
@inline(__always)
func clamp(_ value: SIMD8<Float>, _ lower: SIMD8<Float>, _ upper: SIMD8<Float>) -> SIMD8<Float> {
    let low = value.replacing(with: lower, where: value .< lower)
    return low.replacing(with: upper, where: low .> upper)
}

/// Stores eight floats at any address.
@inline(__always)
func storeVector(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
}

extension Activation {
    /// The activation as a clamp: ReLU6 0…6, ReLU 0…∞, none −∞…∞.
    @inlinable
    public var clampBounds: (lower: Float, upper: Float) {
        switch self {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        }
    }

    /// Adds `bias[c]` to column `c` of every row and applies the activation, in place, for the columns
    /// `channels` of the rows `pixels` of a `rowStride`-wide row-major matrix.
    func applyBiasChannelsLast(
        _ data: UnsafeMutablePointer<Float>, pixels: Range<Int>, channels: Range<Int>,
        rowStride: Int, bias: UnsafePointer<Float>
    ) {
        let (lo, hi) = clampBounds
        let lower = SIMD8<Float>(repeating: lo), upper = SIMD8<Float>(repeating: hi)
        for p in pixels {
            let row = data + p * rowStride
            var c = channels.lowerBound
            while c + 8 <= channels.upperBound {
                let v = loadVector(row + c) + loadVector(bias + c)
                storeVector(clamp(v, lower, upper), row + c)
                c += 8
            }
            while c < channels.upperBound {
                row[c] = min(max(row[c] + bias[c], lo), hi)
                c += 1
            }
        }
    }
}

/// `output[pixels × outC] = activation(rows[pixels × depth] · weightᵀ + bias)` with `weight` row-major
/// `outC × depth`. Large planes are split across threads by pixels; small ones (the 14×14 and 7×7
/// layers) by blocks of output channels, so each SGEMM keeps a useful shape.
func multiplyTransposedAddBias(
    weight: [Float], bias: [Float], activation: Activation, depth: Int,
    rows: UnsafePointer<Float>, pixels: Int, output: UnsafeMutablePointer<Float>,
    threads: Int
) {
    let outChannels = bias.count
    weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
            let threads = worthwhileThreads(threads, work: outChannels * depth * pixels)
            if threads == 1 || pixels >= 4 * outChannels {
                parallelChunks(pixels, threads: threads) { part in
                    guard !part.isEmpty else { return }
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans,
                        Int32(part.count), Int32(outChannels), Int32(depth),
                        1, rows + part.lowerBound * depth, Int32(depth),
                        w.baseAddress!, Int32(depth),
                        0, output + part.lowerBound * outChannels, Int32(outChannels))
                    activation.applyBiasChannelsLast(
                        output, pixels: part, channels: 0..<outChannels,
                        rowStride: outChannels, bias: b.baseAddress!)
                }
            } else {
                // Blocks of 16 output channels keep every chunk's columns vector-aligned.
                let block = 16
                let blocks = (outChannels + block - 1) / block
                parallelChunks(blocks, threads: threads) { part in
                    let columns = (part.lowerBound * block)..<min(part.upperBound * block, outChannels)
                    guard !columns.isEmpty else { return }
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans,
                        Int32(pixels), Int32(columns.count), Int32(depth),
                        1, rows, Int32(depth),
                        w.baseAddress! + columns.lowerBound * depth, Int32(depth),
                        0, output + columns.lowerBound, Int32(outChannels))
                    activation.applyBiasChannelsLast(
                        output, pixels: 0..<pixels, channels: columns,
                        rowStride: outChannels, bias: b.baseAddress!)
                }
            }
        }
    }
}

extension PointwiseConvolution {
    /// Applies the convolution to one channels-last feature map.
    /// - Parameters:
    ///   - input: `pixels × inChannels` floats.
    ///   - output: `pixels × outChannels` floats, overwritten.
    public func applyChannelsLast(
        _ input: UnsafePointer<Float>, pixels: Int, output: UnsafeMutablePointer<Float>,
        threads: Int
    ) {
        multiplyTransposedAddBias(
            weight: weight, bias: bias, activation: activation, depth: inChannels,
            rows: input, pixels: pixels, output: output, threads: threads)
    }
}

/// Mean over the pixels of a channels-last map: `pixels × channels` → `channels`.
public func globalAveragePoolChannelsLast(
    _ input: UnsafePointer<Float>, pixels: Int, channels: Int,
    output: UnsafeMutablePointer<Float>
) {
    output.update(repeating: 0, count: channels)
    for p in 0..<pixels {
        let row = input + p * channels
        var c = 0
        while c + 8 <= channels {
            storeVector(loadVector(output + c) + loadVector(row + c), output + c)
            c += 8
        }
        while c < channels { output[c] += row[c]; c += 1 }
    }
    let scale = 1 / Float(max(pixels, 1))
    for c in 0..<channels { output[c] *= scale }
}

/// Transposes a channels-last map (`pixels × channels`) into channel-major planes (`channels × pixels`).
public func channelMajor(
    fromChannelsLast input: UnsafePointer<Float>, pixels: Int, channels: Int,
    output: UnsafeMutablePointer<Float>
) {
    for p in 0..<pixels {
        let row = input + p * channels
        for c in 0..<channels { output[c * pixels + p] = row[c] }
    }
}
