import CQuantizedKernels

/// A 1×1 convolution on 8-bit channels-last maps: int8 weights per output channel, the input and output quantised
/// per tensor, bias, clamp (ReLU6) and requantisation fused into the GEMM's stores.
public struct QuantizedPointwise: Sendable {
    public let weights: QuantizedWeights
    public let input: QuantizationParameters
    public let output: QuantizationParameters
    public let requantization: Requantization
    /// The activation's range (ReLU6: 0…6), nil for none.
    public let clamp: ClosedRange<Float>?
    /// For the sums dequantised (a layer whose output stays float): `bias + sums`, times `sumScale`.
    let sumScale: [Float]

    public var inChannels: Int { weights.inputs }
    public var outChannels: Int { weights.outputs }

    public init(
        _ convolution: PointwiseConvolution, input: QuantizationParameters, output: QuantizationParameters
    ) {
        weights = QuantizedWeights(
            quantizing: convolution.weight, outputs: convolution.outChannels, inputs: convolution.inChannels)
        self.input = input
        self.output = output
        clamp = convolution.activation.range
        requantization = Requantization(
            weights: weights, bias: convolution.bias, input: input, output: output, clamp: clamp)
        sumScale = weights.scales.map { input.scale * $0 }
    }

    /// Rows (pixels) per thread's share: whole 6-row tiles, and enough work to be worth a thread.
    private func chunks(_ pixels: Int, threads: Int) -> Int {
        min(worthwhileThreads(threads, work: pixels * inChannels * outChannels, perThread: 2_000_000), (pixels + 5) / 6)
    }

    /// Runs `body(rows, input rows, output offset)` on contiguous pixel ranges split over the threads.
    private func forEachRowRange(
        _ input: UnsafePointer<UInt8>, pixels: Int, threads: Int,
        _ body: (_ rows: Int, _ input: UnsafeBufferPointer<UInt8>, _ outputOffset: Int) -> Void
    ) {
        let stride = weights.paddedInputs
        let parts = chunks(pixels, threads: threads)
        parallelChunks(parts, threads: parts) { range in
            for part in range {
                let first = pixels * part / parts, last = pixels * (part + 1) / parts
                guard last > first else { continue }
                body(
                    last - first, UnsafeBufferPointer(start: input + first * stride, count: (last - first) * stride),
                    first * outChannels)
            }
        }
    }

    /// `output[pixels × outChannels]` from `input[pixels × inChannels]` (rows of ``QuantizedWeights/paddedInputs``
    /// bytes when the channels are not a multiple of 4; otherwise packed).
    public func apply(
        _ input: UnsafePointer<UInt8>, pixels: Int, output: UnsafeMutablePointer<UInt8>, threads: Int,
        level: Int8KernelLevel = .best
    ) {
        forEachRowRange(input, pixels: pixels, threads: threads) { rows, rowsInput, offset in
            weights.multiply(
                rowsInput, rows: rows, inputStride: weights.paddedInputs, requantization: requantization,
                into: UnsafeMutableBufferPointer(start: output + offset, count: rows * outChannels),
                outputStride: outChannels, level: level)
        }
    }

    /// The integer sums only (`sums[pixels × outChannels]`).
    public func sums(
        _ input: UnsafePointer<UInt8>, pixels: Int, sums: UnsafeMutablePointer<Int32>, threads: Int,
        level: Int8KernelLevel = .best
    ) {
        forEachRowRange(input, pixels: pixels, threads: threads) { rows, rowsInput, offset in
            weights.multiply(
                rowsInput, rows: rows, inputStride: weights.paddedInputs,
                into: UnsafeMutableBufferPointer(start: sums + offset, count: rows * outChannels),
                outputStride: outChannels, level: level)
        }
    }

    /// The layer plus a residual (the skip connection of an inverted-residual block), requantised once in the
    /// GEMM's stores: `output = q(W·x + b + residual)` with the residual (`pixels × outChannels`) quantised by
    /// `residualParameters`.
    public func apply(
        _ input: UnsafePointer<UInt8>, pixels: Int, residual: UnsafePointer<UInt8>,
        residualParameters: QuantizationParameters, output: UnsafeMutablePointer<UInt8>, threads: Int,
        level: Int8KernelLevel = .best
    ) {
        let skipScale = residualParameters.scale / self.output.scale
        forEachRowRange(input, pixels: pixels, threads: threads) { rows, rowsInput, offset in
            weights.multiply(
                rowsInput, rows: rows, inputStride: weights.paddedInputs, requantization: requantization,
                residual: (
                    UnsafeBufferPointer(start: residual + offset, count: rows * outChannels),
                    residualParameters.zeroPoint, skipScale
                ),
                into: UnsafeMutableBufferPointer(start: output + offset, count: rows * outChannels),
                outputStride: outChannels, level: level)
        }
    }

    /// The layer's float output clamped like its activation, averaged over the pixels into `pooled[outChannels]`
    /// (the head of a network before its global pooling). `scratch` holds `pixels × outChannels` sums.
    public func pooled(
        _ input: UnsafePointer<UInt8>, pixels: Int, scratch: UnsafeMutablePointer<Int32>,
        pooled: UnsafeMutablePointer<Float>, threads: Int, level: Int8KernelLevel = .best
    ) {
        sums(input, pixels: pixels, sums: scratch, threads: threads, level: level)
        let (low, high) = (clamp?.lowerBound ?? -.infinity, clamp?.upperBound ?? .infinity)
        for n in 0..<outChannels { pooled[n] = 0 }
        for p in 0..<pixels {
            let row = scratch + p * outChannels
            for n in 0..<outChannels {
                let value = Float(row[n] &+ requantization.bias[n]) * sumScale[n]
                pooled[n] += min(high, max(low, value))
            }
        }
        let inverse = 1 / Float(pixels)
        for n in 0..<outChannels { pooled[n] *= inverse }
    }
}

/// A depthwise convolution on 8-bit channels-last maps: int8 weights per channel, sums exact in float, bias, clamp
/// and requantisation fused (`satseek_depthwise_u8`).
public struct QuantizedDepthwise: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    public let input: QuantizationParameters
    public let output: QuantizationParameters
    /// Tap-major `kernel² × channels` int8 values held as floats.
    let tapWeights: [Float]
    public let requantization: Requantization

    public init(
        _ convolution: DepthwiseConvolution, input: QuantizationParameters, output: QuantizationParameters
    ) {
        channels = convolution.channels
        kernel = convolution.kernel
        stride = convolution.stride
        self.input = input
        self.output = output
        let (taps, channels) = (kernel * kernel, convolution.channels)
        let (values, scales) = QuantizedWeights.quantizePerRow(convolution.weight, rows: channels, columns: taps)
        // Tap-major, as the kernel reads them.
        tapWeights = (0..<(taps * channels)).map { i in Float(values[(i % channels) * taps + i / channels]) }
        requantization = Requantization(
            weightScales: scales, rowSums: QuantizedWeights.rowSums(values, rows: channels, columns: taps),
            bias: convolution.bias, input: input, output: output, clamp: convolution.activation.range)
    }

    /// The padded copy of a `height × width` input the kernel reads: `padding` plus, on the right, what the last
    /// group of 4 output pixels reaches.
    public func paddedSize(height: Int, width: Int, padding: Padding) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let reached = ((ow + 3) / 4 * 4 - 1) * stride + kernel
        return ((oh - 1) * stride + kernel, max(width + padding.left + padding.right, reached))
    }

    /// Bytes of the padded copy (``paddedSize(height:width:padding:)``).
    public func paddedCount(height: Int, width: Int, padding: Padding) -> Int {
        let size = paddedSize(height: height, width: width, padding: padding)
        return max(size.height, height + padding.top + padding.bottom) * size.width * channels
    }

    /// `output[oh × ow × channels]` from `input[height × width × channels]`, through `padded`
    /// (``paddedCount(height:width:padding:)`` bytes); returns the output size.
    @discardableResult
    public func apply(
        _ input: UnsafePointer<UInt8>, height: Int, width: Int, padding: Padding, padded: UnsafeMutablePointer<UInt8>,
        output: UnsafeMutablePointer<UInt8>, threads: Int, level: Int8KernelLevel = .best
    ) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let size = paddedSize(height: height, width: width, padding: padding)
        let bottom = max(size.height, height + padding.top + padding.bottom) - height - padding.top
        let paddedRows = height + padding.top + bottom
        let right = size.width - width - padding.left
        // A copy, split over the threads when it is large (at batch 1 the other thread would only wait).
        let copiers = worthwhileThreads(threads, work: paddedRows * size.width * channels, perThread: 65_536)
        parallelChunks(paddedRows, threads: copiers) { rows in
            satseek_pad_u8(
                input, Int32(height), Int32(width), Int32(channels), Int32(padding.top), Int32(padding.left),
                Int32(bottom), Int32(right), UInt8(self.input.zeroPoint), Int32(rows.lowerBound),
                Int32(rows.upperBound), padded)
        }
        let parts = min(oh, worthwhileThreads(threads, work: channels * oh * ow * kernel * kernel, perThread: 250_000))
        tapWeights.withUnsafeBufferPointer { weights in
            requantization.bias.withUnsafeBufferPointer { bias in
                requantization.scale.withUnsafeBufferPointer { scale in
                    let box = UncheckedSendableBox((weights.baseAddress!, bias.baseAddress!, scale.baseAddress!))
                    parallelChunks(oh, threads: parts) { rows in
                        let (weights, bias, scale) = box.value
                        var parameters = satseek_requantization(
                            bias: bias, scale: scale, zero_point: requantization.zeroPoint,
                            minimum: requantization.minimum, maximum: requantization.maximum)
                        satseek_depthwise_u8(
                            level.rawValue, padded, Int32(size.width), Int32(channels), weights, Int32(kernel),
                            Int32(stride), Int32(ow), Int32(rows.lowerBound), Int32(rows.upperBound), &parameters,
                            output)
                    }
                }
            }
        }
        return (oh, ow)
    }
}

/// A dense k × k convolution with few input channels (a network's stem) on bytes: the float channel-major input
/// quantised, its patches laid out as GEMM rows (`satseek_im2col_u8`, `channels·k²` bytes each) and multiplied by
/// the int8 weights like a 1×1 convolution of that many input channels, requantised in the GEMM's stores.
public struct QuantizedConvolution2D: Sendable {
    public let kernel: Int
    public let stride: Int
    public let inChannels: Int
    /// The convolution as a 1×1 one over the `inChannels·k²` bytes of each patch.
    public let patches: QuantizedPointwise

    public init(
        _ convolution: Convolution2D, input: QuantizationParameters, output: QuantizationParameters
    ) {
        kernel = convolution.kernel
        stride = convolution.stride
        inChannels = convolution.inChannels
        let depth = convolution.inChannels * convolution.kernel * convolution.kernel
        patches = QuantizedPointwise(
            PointwiseConvolution(
                inChannels: depth, outChannels: convolution.outChannels, weight: convolution.weight,
                bias: convolution.bias, activation: convolution.activation),
            input: input, output: output)
    }

    public var outChannels: Int { patches.outChannels }

    /// Bytes of the scratch ``apply(channelMajor:height:width:padding:scratch:output:threads:level:)`` needs:
    /// the quantised input and the patch rows.
    public func scratchCount(height: Int, width: Int, padding: Padding) -> Int {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        return inChannels * height * width + oh * ow * patches.weights.paddedInputs
    }

    /// `output[oh × ow × outChannels]` bytes from a channel-major float image (`inChannels × height × width`);
    /// returns the output size.
    @discardableResult
    public func apply(
        channelMajor input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
        scratch: UnsafeMutablePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, threads: Int,
        level: Int8KernelLevel = .best
    ) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let plane = inChannels * height * width
        quantize(input, count: plane, parameters: patches.input, output: scratch)
        let columns = scratch + plane
        let rowBytes = patches.weights.paddedInputs
        parallelChunks(oh, threads: worthwhileThreads(threads, work: oh * ow * rowBytes * 8)) { rows in
            satseek_im2col_u8(
                scratch, Int32(inChannels), Int32(height), Int32(width), Int32(kernel), Int32(stride),
                Int32(padding.top), Int32(padding.left), Int32(ow), Int32(rows.lowerBound), Int32(rows.upperBound),
                UInt8(patches.input.zeroPoint), Int32(rowBytes), columns)
        }
        patches.apply(columns, pixels: oh * ow, output: output, threads: threads, level: level)
        return (oh, ow)
    }
}

/// `count` floats quantised by `parameters` (round half to even, clamped to 0…255).
public func quantize(
    _ input: UnsafePointer<Float>, count: Int, parameters: QuantizationParameters, output: UnsafeMutablePointer<UInt8>
) {
    satseek_quantize_u8(input, Int32(count), parameters.scale, parameters.zeroPoint, output)
}

extension Activation {
    /// The values the activation lets through (what an int8 layer clamps its output bytes to); nil: all.
    var range: ClosedRange<Float>? {
        switch self {
        case .relu6: return 0...6
        case .relu: return 0...Float.greatestFiniteMagnitude
        case .none: return nil
        }
    }
}
