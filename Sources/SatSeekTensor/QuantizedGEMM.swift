import CQuantizedKernels
import Foundation

/// The CPU kernel sets of the int8 GEMM (`CQuantizedKernels`), chosen at run time from the CPU's feature flags —
/// never from the machine that built the binary. Every level computes the same integers (the tests hold them to
/// the portable loops), so an index built on one machine is searched with the same embeddings on another.
public enum Int8KernelLevel: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain C loops: any CPU.
    case portable = 0
    /// 256-bit `vpmaddwd` on sign-extended weights.
    case avx2 = 1
    /// 256-bit `vpdpbusd`.
    case avxVNNI = 2
    /// 512-bit `vpdpbusd`.
    case avx512VNNI = 3

    /// The fastest level this CPU runs, or the one `SATSEEK_INT8_KERNELS` names (`portable`, `avx2`, `avx-vnni`,
    /// `avx512-vnni`; for benchmarks) when the CPU runs it. Every level computes the same bytes.
    public static let best: Int8KernelLevel = {
        let fastest = Int8KernelLevel(rawValue: satseek_qgemm_best_level()) ?? .portable
        guard let name = ProcessInfo.processInfo.environment["SATSEEK_INT8_KERNELS"],
            let named = allCases.first(where: { $0.name == name.lowercased() }), named.isSupported
        else { return fastest }
        return named
    }()

    /// The name `SATSEEK_INT8_KERNELS` takes.
    public var name: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avxVNNI: return "avx-vnni"
        case .avx512VNNI: return "avx512-vnni"
        }
    }

    /// Whether this CPU runs the level.
    public var isSupported: Bool { satseek_qgemm_supports(rawValue) != 0 }

    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "AVX2"
        case .avxVNNI: return "AVX-VNNI"
        case .avx512VNNI: return "AVX-512 VNNI"
        }
    }
}

/// Scale and zero point of an affine 8-bit quantisation: `real = scale · (q − zeroPoint)`, q in 0…255.
public struct QuantizationParameters: Sendable, Equatable {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The parameters covering `minimum…maximum` (widened to include 0, so that zero is exact — the padding of a
    /// convolution and a ReLU's floor) with 256 levels.
    public init(minimum: Float, maximum: Float) {
        let low = min(0, minimum.isFinite ? minimum : 0), high = max(0, maximum.isFinite ? maximum : 0)
        let scale = high > low ? (high - low) / 255 : 1
        self.scale = scale
        zeroPoint = Int32(min(255, max(0, (-low / scale).rounded(.toNearestOrEven))))
    }

    /// `value` quantised (rounded half to even, clamped to 0…255).
    public func quantize(_ value: Float) -> UInt8 {
        let q = (value / scale).rounded(.toNearestOrEven) + Float(zeroPoint)
        return UInt8(min(255, max(0, q.isFinite ? q : 0)))
    }

    public func dequantize(_ value: UInt8) -> Float { scale * Float(Int32(value) - zeroPoint) }
}

/// The int8 weights of a 1×1 convolution (or linear layer), `outputs × inputs`, packed for the kernels, with one
/// scale per output channel (symmetric: `real = scale[n] · q`, q in −127…127).
public struct QuantizedWeights: Sendable {
    public let outputs: Int
    public let inputs: Int
    /// Per output channel.
    public let scales: [Float]
    /// Σₖ q[n][k] per output channel: what an input zero point subtracts from every sum.
    public let rowSums: [Int32]
    /// The kernels' layout (`satseek_qgemm_pack`).
    let packed: [Int8]

    /// Quantises float weights (`outputs × inputs`, row-major) per output channel: scale = max |w| / 127.
    public init(quantizing weights: [Float], outputs: Int, inputs: Int) {
        checkArgument(
            outputs > 0 && inputs > 0 && weights.count == outputs * inputs, "weights are not outputs × inputs")
        let (values, scales) = Self.quantizePerRow(weights, rows: outputs, columns: inputs)
        self.init(values: values, scales: scales, outputs: outputs, inputs: inputs)
    }

    /// Row-major `rows × columns` floats quantised symmetrically per row (an output channel of a 1×1 convolution,
    /// a channel's taps of a depthwise one): scale = max |w| / 127 (1 for a zero row), q = round(w / scale).
    static func quantizePerRow(_ weights: [Float], rows: Int, columns: Int) -> (values: [Int8], scales: [Float]) {
        var scales = [Float](repeating: 1, count: rows)
        var values = [Int8](repeating: 0, count: rows * columns)
        for n in 0..<rows {
            let row = weights[(n * columns)..<((n + 1) * columns)]
            let largest = row.reduce(Float(0)) { max($0, abs($1)) }
            let scale = largest > 0 ? largest / 127 : 1
            scales[n] = scale
            for (k, w) in row.enumerated() {
                values[n * columns + k] = Int8(max(-127, min(127, (w / scale).rounded(.toNearestOrEven))))
            }
        }
        return (values, scales)
    }

    /// Σ q of each row of row-major `rows × columns` quantised weights.
    static func rowSums(_ values: [Int8], rows: Int, columns: Int) -> [Int32] {
        (0..<rows).map { n in values[(n * columns)..<((n + 1) * columns)].reduce(Int32(0)) { $0 + Int32($1) } }
    }

    /// Weights already quantised (`outputs × inputs`, row-major) with their per-channel scales.
    public init(values: [Int8], scales: [Float], outputs: Int, inputs: Int) {
        checkArgument(
            outputs > 0 && inputs > 0 && values.count == outputs * inputs && scales.count == outputs,
            "quantised weights are not outputs × inputs with one scale per output")
        self.outputs = outputs
        self.inputs = inputs
        self.scales = scales
        rowSums = Self.rowSums(values, rows: outputs, columns: inputs)
        var packed = [Int8](repeating: 0, count: satseek_qgemm_packed_size(Int32(outputs), Int32(inputs)))
        values.withUnsafeBufferPointer { v in
            packed.withUnsafeMutableBufferPointer { p in
                satseek_qgemm_pack(v.baseAddress!, Int32(outputs), Int32(inputs), p.baseAddress!)
            }
        }
        self.packed = packed
    }

    /// Bytes an input row must span: `inputs` rounded up to 4 (the kernels read whole groups of 4 channels).
    public var paddedInputs: Int { (inputs + 3) / 4 * 4 }

    /// Checks the buffers of a product over `rows` input rows of `inputStride` bytes.
    private func checkShapes(rows: Int, inputStride: Int, inputCount: Int, outputStride: Int, outputCount: Int) {
        checkArgument(rows >= 0 && inputStride >= paddedInputs, "input rows must span \(paddedInputs) bytes")
        checkArgument(
            rows == 0 || inputCount >= (rows - 1) * inputStride + paddedInputs, "input smaller than \(rows) rows")
        checkArgument(
            outputStride >= outputs && (rows == 0 || outputCount >= (rows - 1) * outputStride + outputs),
            "output smaller than \(rows) rows of \(outputs)")
    }

    /// The exact sums `output[i][n] = Σₖ input[i][k] · q[n][k]` for `rows` rows.
    public func multiply(
        _ input: UnsafeBufferPointer<UInt8>, rows: Int, inputStride: Int,
        into output: UnsafeMutableBufferPointer<Int32>,
        outputStride: Int, level: Int8KernelLevel = .best
    ) {
        checkShapes(
            rows: rows, inputStride: inputStride, inputCount: input.count, outputStride: outputStride,
            outputCount: output.count)
        guard rows > 0 else { return }
        packed.withUnsafeBufferPointer { p in
            satseek_qgemm_u8s8_s32(
                level.rawValue, input.baseAddress!, Int32(inputStride), p.baseAddress!, Int32(rows), Int32(outputs),
                Int32(inputs), output.baseAddress!, Int32(outputStride))
        }
    }

    /// The sums requantised to bytes by `requantization` (see ``Requantization``); with `residual` (rows of
    /// `outputs` bytes, its zero point, and its scale over the output's), that residual added before rounding:
    /// `round(Float(sum + bias) · scale + Float(r − zero) · residualScale)`, the two products never fused.
    public func multiply(
        _ input: UnsafeBufferPointer<UInt8>, rows: Int, inputStride: Int, requantization: Requantization,
        residual: (values: UnsafeBufferPointer<UInt8>, zeroPoint: Int32, scale: Float)? = nil,
        into output: UnsafeMutableBufferPointer<UInt8>, outputStride: Int, level: Int8KernelLevel = .best
    ) {
        checkShapes(
            rows: rows, inputStride: inputStride, inputCount: input.count, outputStride: outputStride,
            outputCount: output.count)
        checkArgument(
            requantization.bias.count == outputs && requantization.scale.count == outputs,
            "requantisation is not for \(outputs) outputs")
        checkArgument(residual.map { $0.values.count >= rows * outputs } ?? true, "residual smaller than the output")
        guard rows > 0 else { return }
        packed.withUnsafeBufferPointer { p in
            requantization.bias.withUnsafeBufferPointer { bias in
                requantization.scale.withUnsafeBufferPointer { scale in
                    var parameters = satseek_requantization(
                        bias: bias.baseAddress!, scale: scale.baseAddress!, zero_point: requantization.zeroPoint,
                        minimum: requantization.minimum, maximum: requantization.maximum)
                    if let residual {
                        satseek_qgemm_u8s8_u8_residual(
                            level.rawValue, input.baseAddress!, Int32(inputStride), p.baseAddress!, Int32(rows),
                            Int32(outputs), Int32(inputs), &parameters, residual.values.baseAddress!, Int32(outputs),
                            residual.zeroPoint, residual.scale, output.baseAddress!, Int32(outputStride))
                    } else {
                        satseek_qgemm_u8s8_u8(
                            level.rawValue, input.baseAddress!, Int32(inputStride), p.baseAddress!, Int32(rows),
                            Int32(outputs), Int32(inputs), &parameters, output.baseAddress!, Int32(outputStride))
                    }
                }
            }
        }
    }
}

/// How a layer's int32 sums become its 8-bit output: for output channel n,
/// `clamp(round(Float(sum + bias[n]) · scale[n]) + zeroPoint, minimum, maximum)`, rounding half to even.
public struct Requantization: Sendable {
    public var bias: [Int32]
    public var scale: [Float]
    public var zeroPoint: Int32
    public var minimum: Int32
    public var maximum: Int32

    public init(bias: [Int32], scale: [Float], zeroPoint: Int32, minimum: Int32 = 0, maximum: Int32 = 255) {
        self.bias = bias
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The requantisation of `y = clamp(W · x + b)` with x quantised by `input`, W by `weights` and y by `output`:
    /// the float bias becomes integer sums (`b / (sₓ · s_w)`) less the input zero point's share (`zₓ · Σₖ q`),
    /// and the clamp (ReLU6: 0…6) becomes the byte range it covers.
    public init(
        weights: QuantizedWeights, bias: [Float], input: QuantizationParameters, output: QuantizationParameters,
        clamp: ClosedRange<Float>? = nil
    ) {
        self.init(
            weightScales: weights.scales, rowSums: weights.rowSums, bias: bias, input: input, output: output,
            clamp: clamp)
    }

    /// The same from the per-channel weight scales and sums of quantised weights (Σ q over a channel's inputs or
    /// taps).
    init(
        weightScales: [Float], rowSums: [Int32], bias: [Float], input: QuantizationParameters,
        output: QuantizationParameters, clamp: ClosedRange<Float>?
    ) {
        let outputs = weightScales.count
        checkArgument(bias.count == outputs && rowSums.count == outputs, "bias is not one per output")
        var integerBias = [Int32](repeating: 0, count: outputs)
        var scale = [Float](repeating: 0, count: outputs)
        for n in 0..<outputs {
            let sumScale = input.scale * weightScales[n]
            let b = (bias[n] / sumScale).rounded(.toNearestOrEven)
            integerBias[n] = Int32(max(-1e9, min(1e9, b))) - input.zeroPoint * rowSums[n]
            scale[n] = sumScale / output.scale
        }
        var minimum: Int32 = 0, maximum: Int32 = 255
        if let clamp {
            minimum = max(0, Int32(output.quantize(clamp.lowerBound)))
            maximum = min(255, Int32(output.quantize(clamp.upperBound)))
        }
        self.init(bias: integerBias, scale: scale, zeroPoint: output.zeroPoint, minimum: minimum, maximum: maximum)
    }

    /// One sum requantised exactly as the kernels do it.
    public func apply(_ sum: Int32, channel n: Int) -> UInt8 {
        let scaled = Float(sum &+ bias[n]) * scale[n]
        let q = Int32(scaled.rounded(.toNearestOrEven)) + zeroPoint
        return UInt8(max(minimum, min(maximum, q)))
    }
}
