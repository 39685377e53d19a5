import Crypto
import Foundation
import Synchronization
import SatSeekImaging
import SatSeekTensor

/// The value ranges of an EfficientNet-Lite's activations over a set of calibration images: what the int8 network
/// quantises each tensor with (per tensor, 256 levels from min to max, zero exact).
///
/// Tensors: `stem`, and per block `blocks.N.expand`, `blocks.N.depthwise` and `blocks.N` (the block's output).
public struct ActivationCalibration: Codable, Sendable, Equatable {
    /// The float model the ranges were measured on.
    public var model: String
    /// Number of calibration images.
    public var images: Int
    /// Tensor name → `[minimum, maximum]`.
    public var ranges: [String: [Float]]

    public init(model: String, images: Int, ranges: [String: [Float]]) {
        self.model = model
        self.images = images
        self.ranges = ranges
    }

    /// The first 12 hex digits of the SHA-256 of the calibration's canonical JSON: part of the int8 model's id, so
    /// indexes built with other ranges (or in float32) are never mixed with it.
    public var contentID: String {
        let digest = SHA256.hash(data: (try? Self.encoder.encode(self)) ?? Data())
        return digest.map { String(format: "%02x", $0) }.joined().prefix(12).description
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }()

    /// The JSON the file holds.
    public func encoded() throws -> Data { try Self.encoder.encode(self) }

    /// Reads a calibration file, refusing one that is not a calibration or holds a non-finite or inverted range.
    public static func read(_ url: URL) throws -> ActivationCalibration {
        let data = try Data(contentsOf: url)
        guard data.count <= 4 << 20 else { throw CalibrationError.invalid(url.path, "larger than 4 MB") }
        let calibration: ActivationCalibration
        do {
            calibration = try JSONDecoder().decode(ActivationCalibration.self, from: data)
        } catch {
            throw CalibrationError.invalid(url.path, "not a calibration file (\(error.localizedDescription))")
        }
        // Activations of these networks stay within tens; a range past ±10⁶ would only make the arithmetic overflow.
        for (name, range) in calibration.ranges
        where range.count != 2 || !range.allSatisfy({ $0.isFinite && abs($0) <= 1e6 }) || range[0] > range[1] {
            throw CalibrationError.invalid(url.path, "tensor \(name) has no valid [minimum, maximum] range (|x| ≤ 10⁶)")
        }
        return calibration
    }

    /// The quantisation of tensor `name`.
    func parameters(_ name: String) throws -> QuantizationParameters {
        guard let range = ranges[name], range.count == 2 else {
            throw CalibrationError.missing(name, model: model)
        }
        return QuantizationParameters(minimum: range[0], maximum: range[1])
    }
}

/// A calibration that cannot be used.
public enum CalibrationError: Error, CustomStringConvertible, Equatable {
    case invalid(String, String)
    case missing(String, model: String)
    case otherModel(path: String, calibrated: String, requested: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): return "\(path): \(reason)"
        case let .missing(name, model): return "the calibration of \(model) has no range for tensor \(name)"
        case let .otherModel(path, calibrated, requested):
            return "\(path) calibrates \(calibrated), not \(requested); run `satseek calibrate DIR --model …` again"
        }
    }
}

/// Running minimum and maximum of each tensor over the calibration images.
final class RangeRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var ranges: [String: [Float]] = [:]

    func record(_ name: String, _ data: UnsafePointer<Float>, count: Int) {
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<count {
            low = min(low, data[i])
            high = max(high, data[i])
        }
        lock.withLock {
            let old = ranges[name] ?? [.infinity, -.infinity]
            ranges[name] = [min(old[0], low), max(old[1], high)]
        }
    }

    var value: [String: [Float]] { lock.withLock { ranges } }
}

extension EfficientNetLite {
    /// Measures the ranges of every activation the int8 network quantises, over `count` preprocessed images (the
    /// float layers one by one, unfused, each image on its own worker).
    public func calibrate(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> ActivationCalibration {
        checkedInputs(inputs, count: count)
        let recorder = RangeRecorder()
        forEachImage(count: count) { i, workspace, threads in
            record(inputs.baseAddress! + i * inputCount, workspace: workspace, threads: threads, into: recorder)
        }
        return ActivationCalibration(model: modelID, images: count, ranges: recorder.value)
    }

    private func checkedInputs(_ inputs: UnsafeBufferPointer<Float>, count: Int) {
        precondition(count > 0 && inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
    }

    /// One image through the float layers, recording each quantised tensor's range.
    private func record(
        _ input: UnsafePointer<Float>, workspace: Workspace, threads: Int, into recorder: RangeRecorder
    ) {
        let r = config.resolution
        let a = workspace.buffers[0], b = workspace.buffers[1], c = workspace.buffers[2]
        var (h, w) = convStem.apply(
            channelMajor: input, height: r, width: r, padding: .same(height: r, width: r, kernel: 3, stride: 2),
            output: a, threads: threads)
        recorder.record("stem", a, count: h * w * config.stemChannels)
        var current = a
        for (index, block) in blocks.enumerated() {
            let spec = block.spec
            let free = [a, b, c].filter { $0 != current }
            let (x, y) = (free[0], free[1])
            var depthInput = current
            if let expand = block.expandConv {
                expand.apply(current, pixels: h * w, output: x, threads: threads)
                recorder.record("blocks.\(index).expand", x, count: h * w * spec.expandedChannels)
                depthInput = x
            }
            let depthOutput = depthInput == x ? y : x
            let (oh, ow) = block.depthwiseConv.applyChannelsLast(
                depthInput, height: h, width: w,
                padding: .same(height: h, width: w, kernel: spec.kernel, stride: spec.stride), output: depthOutput,
                threads: threads)
            recorder.record("blocks.\(index).depthwise", depthOutput, count: oh * ow * spec.expandedChannels)
            let projected = [a, b, c].first { $0 != current && $0 != depthOutput }!
            block.projectConv.apply(
                depthOutput, pixels: oh * ow, output: projected,
                residual: spec.hasResidual ? UnsafePointer(current) : nil, threads: threads)
            recorder.record("blocks.\(index)", projected, count: oh * ow * spec.outChannels)
            (h, w) = (oh, ow)
            current = projected
        }
    }
}

/// EfficientNet-Lite in int8: every 1×1 convolution an int8 GEMM (`vpdpbusd` where the CPU has VNNI), every
/// depthwise convolution on bytes, activations stored as bytes between layers, quantised per tensor with the
/// ranges of an ``ActivationCalibration``; weights quantised per output channel when loaded. The stem's input is
/// quantised over the range the preprocessing can produce (for EfficientNet-Lite's mean 127/255 and std 128/255
/// that is exactly the resized image's bytes) and the stem runs as a GEMM over its 3×3×3 patches; the head's sums
/// are pooled in float. The embedding is the same L2-normalised 1280-d pooled head output as the float model's,
/// approximately.
public final class QuantizedEfficientNetLite: ImageEmbedder {
    struct Block: Sendable {
        let spec: EfficientNetLiteConfig.Block
        let expand: QuantizedPointwise?
        let depthwise: QuantizedDepthwise
        let project: QuantizedPointwise
        /// The quantisation of the block's input (for the residual).
        let input: QuantizationParameters
    }

    public let float: EfficientNetLite
    public let calibration: ActivationCalibration
    public let modelID: String
    public var dimensions: Int { float.dimensions }
    public var preprocessing: Preprocessing { float.preprocessing }
    let stemOutput: QuantizationParameters
    let stem: QuantizedConvolution2D
    let blocks: [Block]
    let head: QuantizedPointwise
    /// The kernels used (the CPU's best unless a test asks for another).
    public let level: Int8KernelLevel
    private let largestActivation: Int
    private let largestSums: Int
    private let largestPadded: Int

    /// The int8 network of `float` with `calibration`'s ranges (measured on `float`: another model is refused).
    public init(_ float: EfficientNetLite, calibration: ActivationCalibration, level: Int8KernelLevel = .best) throws {
        guard calibration.model == float.modelID else {
            throw CalibrationError.otherModel(
                path: "calibration", calibrated: calibration.model, requested: float.modelID)
        }
        self.float = float
        self.calibration = calibration
        self.level = level
        // `int8.2`: the second int8 network (the stem on bytes); its embeddings differ slightly from the first's,
        // so indexes of the two never mix.
        modelID = "\(float.modelID)+int8.2@\(calibration.contentID)"
        stemOutput = try calibration.parameters("stem")
        let p = float.preprocessing
        let means = [p.mean.0, p.mean.1, p.mean.2], deviations = [p.std.0, p.std.1, p.std.2]
        let input = QuantizationParameters(
            minimum: zip(means, deviations).map { (0 - $0) / $1 }.min()!,
            maximum: zip(means, deviations).map { (1 - $0) / $1 }.max()!)
        stem = QuantizedConvolution2D(float.convStem.convolution, input: input, output: stemOutput)
        var current = stemOutput
        var blocks: [Block] = []
        var size = (float.config.resolution + 1) / 2
        let r = float.config.resolution
        var largest = stem.scratchCount(
            height: r, width: r, padding: .same(height: r, width: r, kernel: 3, stride: 2))
        var padded = 0
        for (index, block) in float.blocks.enumerated() {
            let spec = block.spec
            var depthInput = current
            var expand: QuantizedPointwise?
            if let conv = block.expandConv?.convolution {
                let output = try calibration.parameters("blocks.\(index).expand")
                expand = QuantizedPointwise(conv, input: current, output: output)
                depthInput = output
            }
            let depthOutput = try calibration.parameters("blocks.\(index).depthwise")
            let depthwise = QuantizedDepthwise(block.depthwiseConv, input: depthInput, output: depthOutput)
            let blockOutput = try calibration.parameters("blocks.\(index)")
            let project = QuantizedPointwise(block.projectConv.convolution, input: depthOutput, output: blockOutput)
            blocks.append(Block(spec: spec, expand: expand, depthwise: depthwise, project: project, input: current))
            padded = max(
                padded,
                depthwise.paddedCount(
                    height: size, width: size,
                    padding: .same(height: size, width: size, kernel: spec.kernel, stride: spec.stride)))
            largest = max(largest, spec.expandedChannels * size * size)
            size = (size + spec.stride - 1) / spec.stride
            largest = max(largest, spec.expandedChannels * size * size)
            current = blockOutput
        }
        // Only the head's sums leave the GEMM as int32 (the blocks requantise in its stores).
        largestSums = float.config.headChannels * size * size
        head = QuantizedPointwise(float.convHead.convolution, input: current, output: current)
        self.blocks = blocks
        largestActivation = largest
        largestPadded = padded
    }

    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        precondition(inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
        var output = [Float](repeating: 0, count: count * dimensions)
        output.withUnsafeMutableBufferPointer { out in
            let outBase = UncheckedSendableBox(out.baseAddress!)
            let threads = defaultThreadCount
            let inner = min(threads, count) == 1 ? threads : 1
            parallelClaims(count, threads: threads) { next in
                let buffers = takeBuffers()
                defer { giveBuffers(buffers) }
                while let i = next() {
                    let pooled = outBase.value + i * dimensions
                    features(inputs.baseAddress! + i * inputCount, into: pooled, buffers: buffers, threads: inner)
                    l2Normalize(UnsafeMutableBufferPointer(start: pooled, count: dimensions))
                }
            }
        }
        return output
    }

    /// Buffers kept between calls: fresh multi-megabyte buffers cost page faults on every image.
    private let pool = Mutex<[Buffers]>([])

    private func takeBuffers() -> Buffers { pool.withLock { $0.popLast() } ?? Buffers(self) }

    private func giveBuffers(_ buffers: Buffers) {
        pool.withLock { free in
            if free.count < max(2, defaultThreadCount) { free.append(buffers) } else { buffers.deallocate() }
        }
    }

    deinit { pool.withLock { free in free.forEach { $0.deallocate() } } }

    /// One worker's buffers.
    final class Buffers: @unchecked Sendable {
        let bytes: [UnsafeMutablePointer<UInt8>]
        /// The head's int32 sums.
        let sums: UnsafeMutablePointer<Int32>
        /// The depthwise layers' padded input.
        let padded: UnsafeMutablePointer<UInt8>

        init(_ model: QuantizedEfficientNetLite) {
            bytes = (0..<3).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: model.largestActivation) }
            sums = .allocate(capacity: model.largestSums)
            padded = .allocate(capacity: model.largestPadded)
        }

        func deallocate() {
            bytes.forEach { $0.deallocate() }
            sums.deallocate()
            padded.deallocate()
        }
    }

    /// Stem, blocks and head on bytes; writes the pooled (unnormalised) features.
    func features(
        _ input: UnsafePointer<Float>, into pooled: UnsafeMutablePointer<Float>, buffers: Buffers, threads: Int
    ) {
        let r = float.config.resolution
        let (a, b, c) = (buffers.bytes[0], buffers.bytes[1], buffers.bytes[2])
        var (h, w) = stem.apply(
            channelMajor: input, height: r, width: r, padding: .same(height: r, width: r, kernel: 3, stride: 2),
            scratch: b, output: a, threads: threads, level: level)
        var current = a
        for block in blocks {
            let spec = block.spec
            let free = [a, b, c].filter { $0 != current }
            let (x, y) = (free[0], free[1])
            var depthInput = current
            if let expand = block.expand {
                expand.apply(current, pixels: h * w, output: x, threads: threads, level: level)
                depthInput = x
            }
            let depthOutput = depthInput == x ? y : x
            let (oh, ow) = block.depthwise.apply(
                depthInput, height: h, width: w,
                padding: .same(height: h, width: w, kernel: spec.kernel, stride: spec.stride), padded: buffers.padded,
                output: depthOutput, threads: threads, level: level)
            let projected = [a, b, c].first { $0 != current && $0 != depthOutput }!
            if spec.hasResidual {
                block.project.apply(
                    depthOutput, pixels: oh * ow, residual: current, residualParameters: block.input,
                    output: projected, threads: threads, level: level)
            } else {
                block.project.apply(depthOutput, pixels: oh * ow, output: projected, threads: threads, level: level)
            }
            (h, w) = (oh, ow)
            current = projected
        }
        head.pooled(current, pixels: h * w, scratch: buffers.sums, pooled: pooled, threads: threads, level: level)
    }
}
