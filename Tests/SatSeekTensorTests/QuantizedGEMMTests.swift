import SatSeekRandom
import Testing

@testable import SatSeekTensor

/// The int8 GEMM kernels against plain loops: exact integer sums, requantisation rounding, and every kernel the
/// CPU runs giving the same bytes.
@Suite struct QuantizedGEMMTests {
    /// Random activations (rows of `stride` bytes) and weights, with the extremes mixed in: 255 × ±127 is what would
    /// saturate a 16-bit pair sum.
    static func operands(
        rows: Int, outputs: Int, inputs: Int, stride: Int, extreme: Bool, random: inout SplitMix64
    ) -> (input: [UInt8], weights: [Int8]) {
        let input = (0..<(rows * stride)).map { _ in extreme ? UInt8(255) : UInt8(truncatingIfNeeded: random.next()) }
        let weights = (0..<(outputs * inputs)).map { i in
            extreme ? Int8(i % 3 == 0 ? -127 : 127) : Int8(Int(random.next() % 255) - 127)
        }
        return (input, weights)
    }

    /// Σₖ input[i][k] · w[n][k] by plain loops on the unpacked weights.
    static func reference(
        _ input: [UInt8], _ weights: [Int8], rows: Int, outputs: Int, inputs: Int, stride: Int
    )
        -> [Int32]
    {
        var sums = [Int32](repeating: 0, count: rows * outputs)
        for i in 0..<rows {
            for n in 0..<outputs {
                var sum: Int32 = 0
                for k in 0..<inputs { sum += Int32(input[i * stride + k]) * Int32(weights[n * inputs + k]) }
                sums[i * outputs + n] = sum
            }
        }
        return sums
    }

    @Test func everyKernelComputesTheExactSums() {
        var random = SplitMix64(seed: 41)
        let levels = Int8KernelLevel.allCases.filter(\.isSupported)
        #expect(levels.contains(.portable) && levels.contains(Int8KernelLevel.best))
        // Shapes around every edge: rows past a 6-row tile, outputs past 16/32-column blocks, channels not a
        // multiple of 4, padded row strides; then EfficientNet-Lite-like layers.
        var shapes: [(rows: Int, outputs: Int, inputs: Int)] = []
        for _ in 0..<60 {
            shapes.append((1 + Int(random.next() % 14), 1 + Int(random.next() % 70), 1 + Int(random.next() % 45)))
        }
        shapes += [(49, 1280, 320), (196, 112, 672), (784, 40, 240), (13, 24, 144)]
        for (index, shape) in shapes.enumerated() {
            let stride = (shape.inputs + 3) / 4 * 4 + index % 3
            let extreme = index % 9 == 4
            let (input, weights) = Self.operands(
                rows: shape.rows, outputs: shape.outputs, inputs: shape.inputs, stride: stride, extreme: extreme,
                random: &random)
            let expected = Self.reference(
                input, weights, rows: shape.rows, outputs: shape.outputs, inputs: shape.inputs, stride: stride)
            let packed = QuantizedWeights(
                values: weights, scales: .init(repeating: 1, count: shape.outputs), outputs: shape.outputs,
                inputs: shape.inputs)
            for level in levels {
                var sums = [Int32](repeating: -1, count: shape.rows * shape.outputs)
                input.withUnsafeBufferPointer { x in
                    sums.withUnsafeMutableBufferPointer { out in
                        packed.multiply(
                            x, rows: shape.rows, inputStride: stride, into: out, outputStride: shape.outputs,
                            level: level)
                    }
                }
                #expect(sums == expected, "\(level) on \(shape), extreme: \(extreme)")
            }
        }
    }

    @Test func requantisationRoundsHalfToEvenAndClamps() {
        // Sums chosen so that sum · scale lands on halves: 2.5 → 2, 3.5 → 4, −2.5 → −2, then + zero point, clamped.
        let requantization = Requantization(
            bias: [0, 0, 0, 10, 0], scale: [0.5, 0.5, 0.5, 0.5, 100], zeroPoint: 10, minimum: 9, maximum: 200)
        #expect(requantization.apply(5, channel: 0) == 12)
        #expect(requantization.apply(7, channel: 1) == 14)
        #expect(requantization.apply(-5, channel: 2) == 9)  // −2 + 10 = 8, clamped to 9
        #expect(requantization.apply(-5, channel: 3) == 12)  // (−5 + 10) · 0.5 = 2.5 → 2, + 10
        #expect(requantization.apply(3, channel: 4) == 200)  // 300 + 10, clamped
        // The kernels store exactly what `apply` says, on every level.
        var random = SplitMix64(seed: 43)
        let (rows, outputs, inputs) = (11, 37, 29)
        let (input, weights) = Self.operands(
            rows: rows, outputs: outputs, inputs: inputs, stride: 32, extreme: false, random: &random)
        let sums = Self.reference(input, weights, rows: rows, outputs: outputs, inputs: inputs, stride: 32)
        let requantize = Requantization(
            bias: (0..<outputs).map { _ in Int32(random.next() % 20001) - 10000 },
            scale: (0..<outputs).map { n in n % 4 == 0 ? 0.5 : Float(random.unitFloat() * 2e-3) },
            zeroPoint: 17, minimum: 3, maximum: 250)
        let expected = (0..<(rows * outputs)).map { requantize.apply(sums[$0], channel: $0 % outputs) }
        let packed = QuantizedWeights(
            values: weights, scales: .init(repeating: 1, count: outputs), outputs: outputs, inputs: inputs)
        for level in Int8KernelLevel.allCases where level.isSupported {
            var bytes = [UInt8](repeating: 0, count: rows * outputs)
            input.withUnsafeBufferPointer { x in
                bytes.withUnsafeMutableBufferPointer { out in
                    packed.multiply(
                        x, rows: rows, inputStride: 32, requantization: requantize, into: out, outputStride: outputs,
                        level: level)
                }
            }
            #expect(bytes == expected, "\(level)")
            // With a residual: its two products added unfused before rounding.
            let residual = (0..<(rows * outputs)).map { UInt8(($0 * 37) % 256) }
            let (skipZero, skipScale): (Int32, Float) = (91, 0.37)
            let withResidual = (0..<(rows * outputs)).map { i -> UInt8 in
                let n = i % outputs
                let main = Float(sums[i] &+ requantize.bias[n]) * requantize.scale[n]
                let skip = Float(Int32(residual[i]) - skipZero) * skipScale
                let q = Int32((main + skip).rounded(.toNearestOrEven)) + requantize.zeroPoint
                return UInt8(max(requantize.minimum, min(requantize.maximum, q)))
            }
            input.withUnsafeBufferPointer { x in
                residual.withUnsafeBufferPointer { r in
                    bytes.withUnsafeMutableBufferPointer { out in
                        packed.multiply(
                            x, rows: rows, inputStride: 32, requantization: requantize,
                            residual: (r, skipZero, skipScale), into: out, outputStride: outputs, level: level)
                    }
                }
            }
            #expect(bytes == withResidual, "\(level) with a residual")
        }
    }

    /// A float layer `y = ReLU6(W · x + b)` quantised per output channel, its input and output per tensor: the
    /// int8 result dequantised is within a few output steps of the float one.
    @Test func quantisedLayerFollowsTheFloatLayer() {
        var random = SplitMix64(seed: 47)
        let (pixels, outputs, inputs) = (50, 48, 40)
        let weights = (0..<(outputs * inputs)).map { _ in random.signedUnitFloat() * 0.3 }
        let bias = (0..<outputs).map { _ in random.signedUnitFloat() }
        let x = (0..<(pixels * inputs)).map { _ in random.signedUnitFloat() * 3 }
        let inputParameters = QuantizationParameters(minimum: -3, maximum: 3)
        let outputParameters = QuantizationParameters(minimum: 0, maximum: 6)
        #expect(outputParameters.zeroPoint == 0 && inputParameters.zeroPoint == 128)
        let quantized = QuantizedWeights(quantizing: weights, outputs: outputs, inputs: inputs)
        let requantization = Requantization(
            weights: quantized, bias: bias, input: inputParameters, output: outputParameters, clamp: 0...6)
        let qx = x.map(inputParameters.quantize)
        var qy = [UInt8](repeating: 0, count: pixels * outputs)
        qx.withUnsafeBufferPointer { input in
            qy.withUnsafeMutableBufferPointer { out in
                quantized.multiply(
                    input, rows: pixels, inputStride: inputs, requantization: requantization, into: out,
                    outputStride: outputs)
            }
        }
        var worst: Float = 0
        for p in 0..<pixels {
            for n in 0..<outputs {
                var y = bias[n]
                for k in 0..<inputs { y += weights[n * inputs + k] * x[p * inputs + k] }
                y = min(6, max(0, y))
                worst = max(worst, abs(outputParameters.dequantize(qy[p * outputs + n]) - y))
            }
        }
        // Input steps of 6/255 through 40 weights of ≤ 0.3 and the output's own half step: a few steps at most.
        #expect(worst < 4 * outputParameters.scale, "worst error \(worst), output step \(outputParameters.scale)")
    }

    /// The int8 depthwise kernel against plain loops over the padded input: every kernel size, stride, channel
    /// tail and level gives the bytes `Requantization.apply` gives for the exact sums.
    @Test func depthwiseMatchesPlainLoops() {
        var random = SplitMix64(seed: 53)
        for (height, width, channels, kernel, stride) in [
            (9, 11, 16, 3, 1), (10, 7, 24, 3, 2), (13, 13, 40, 5, 1), (14, 9, 17, 5, 2), (7, 7, 48, 3, 1),
            // Large enough for the padded copy to be split over the two threads.
            (40, 37, 96, 3, 2)
        ] {
            let taps = kernel * kernel
            let weights = (0..<(channels * taps)).map { _ in random.signedUnitFloat() }
            let bias = (0..<channels).map { _ in random.signedUnitFloat() }
            let convolution = DepthwiseConvolution(
                channels: channels, kernel: kernel, stride: stride, weight: weights, bias: bias, activation: .relu6)
            let input = QuantizationParameters(minimum: -1, maximum: 3)  // zero point 64: padding reads 64
            let layer = QuantizedDepthwise(
                convolution, input: input, output: QuantizationParameters(minimum: 0, maximum: 6))
            let x = (0..<(height * width * channels)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let padding = Padding.same(height: height, width: width, kernel: kernel, stride: stride)
            let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
            var expected = [UInt8](repeating: 0, count: oh * ow * channels)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        var sum: Int32 = 0
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let iy = oy * stride + ky - padding.top, ix = ox * stride + kx - padding.left
                                let value =
                                    (0..<height).contains(iy) && (0..<width).contains(ix)
                                    ? Int32(x[(iy * width + ix) * channels + c]) : input.zeroPoint
                                sum += value * Int32(layer.tapWeights[(ky * kernel + kx) * channels + c])
                            }
                        }
                        expected[(oy * ow + ox) * channels + c] = layer.requantization.apply(sum, channel: c)
                    }
                }
            }
            for level in Int8KernelLevel.allCases where level.isSupported {
                var output = [UInt8](repeating: 0, count: oh * ow * channels)
                var padded = [UInt8](
                    repeating: 0, count: layer.paddedCount(height: height, width: width, padding: padding))
                x.withUnsafeBufferPointer { input in
                    padded.withUnsafeMutableBufferPointer { padded in
                        output.withUnsafeMutableBufferPointer { out in
                            _ = layer.apply(
                                input.baseAddress!, height: height, width: width, padding: padding,
                                padded: padded.baseAddress!, output: out.baseAddress!, threads: 2, level: level)
                        }
                    }
                }
                #expect(output == expected, "\(level), \(kernel)×\(kernel)/\(stride), \(channels) channels")
            }
        }
    }

    /// The int8 stem (a dense 3×3 stride-2 convolution of a float channel-major image, run as a GEMM over its
    /// patches) against plain loops: the input quantised, the padding at the input's zero point, the exact sums
    /// requantised — the same bytes on every level, for odd and even sizes (whose "same" padding differs).
    @Test func stemConvolutionMatchesPlainLoops() throws {
        var random = SplitMix64(seed: 59)
        for (height, width, inChannels, outChannels) in [(17, 23, 3, 32), (32, 30, 3, 40), (9, 9, 2, 8)] {
            let (kernel, stride) = (3, 2)
            let depth = inChannels * kernel * kernel
            let convolution = Convolution2D(
                inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                weight: (0..<(outChannels * depth)).map { _ in random.signedUnitFloat() },
                bias: (0..<outChannels).map { _ in random.signedUnitFloat() }, activation: .relu6)
            let input = QuantizationParameters(minimum: -127 / 128, maximum: 1)
            #expect(input.zeroPoint == 127 && input.scale == 1 / 128)
            let layer = QuantizedConvolution2D(
                convolution, input: input, output: QuantizationParameters(minimum: 0, maximum: 6))
            let image = (0..<(inChannels * height * width)).map { _ in random.signedUnitFloat() }
            let q = image.map(input.quantize)
            let (values, _) = QuantizedWeights.quantizePerRow(convolution.weight, rows: outChannels, columns: depth)
            let padding = Padding.same(height: height, width: width, kernel: kernel, stride: stride)
            let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
            var expected = [UInt8](repeating: 0, count: oh * ow * outChannels)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for n in 0..<outChannels {
                        var sum: Int32 = 0
                        for c in 0..<inChannels {
                            for ky in 0..<kernel {
                                for kx in 0..<kernel {
                                    let iy = oy * stride + ky - padding.top, ix = ox * stride + kx - padding.left
                                    let x =
                                        (0..<height).contains(iy) && (0..<width).contains(ix)
                                        ? Int32(q[(c * height + iy) * width + ix]) : input.zeroPoint
                                    sum += x * Int32(values[n * depth + (c * kernel + ky) * kernel + kx])
                                }
                            }
                        }
                        expected[(oy * ow + ox) * outChannels + n] = layer.patches.requantization.apply(
                            sum, channel: n)
                    }
                }
            }
            for level in Int8KernelLevel.allCases where level.isSupported {
                var output = [UInt8](repeating: 0, count: oh * ow * outChannels)
                var scratch = [UInt8](
                    repeating: 0, count: layer.scratchCount(height: height, width: width, padding: padding))
                let size = image.withUnsafeBufferPointer { image in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                        output.withUnsafeMutableBufferPointer { out in
                            layer.apply(
                                channelMajor: image.baseAddress!, height: height, width: width, padding: padding,
                                scratch: scratch.baseAddress!, output: out.baseAddress!, threads: 2, level: level)
                        }
                    }
                }
                #expect(size.height == oh && size.width == ow)
                #expect(output == expected, "\(level), \(height)×\(width)×\(inChannels) → \(outChannels)")
            }
        }
    }
}
