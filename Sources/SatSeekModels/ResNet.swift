import Foundation
import SatSeekCheckpoint
import SatSeekImaging
import SatSeekTensor

/// ResNet-50/101/152 (torchvision layout and checkpoint keys: `conv1`, `bn1`, `layerN.M.conv1..3`,
/// `bnX`, `downsample.0/1`, `fc`), the backbone of the rs-cbir seed. Users bring their own torchvision
/// or fine-tuned checkpoints (`--model resnet50:PATH`).
///
/// Widths and block counts are read from the checkpoint's tensor shapes, so any Bottleneck ResNet
/// loads with the same code. Batch norm is folded into the convolutions; the embedding is the globally
/// average-pooled output of `layer4` (2048-d for ResNet-50), L2-normalised.
public final class ResNet: ImageNetClassifying {
    /// One Bottleneck block; properties mirror the keys `layerN.M.<name>`.
    struct Bottleneck: Sendable {
        let conv1: PointwiseConvolution  // conv1 + bn1 + ReLU
        let conv2: Convolution2D  // conv2 (3×3, stride) + bn2 + ReLU
        let conv3: PointwiseConvolution  // conv3 + bn3 (ReLU after the residual add)
        let downsample: Convolution2D?  // downsample.0 (1×1, stride) + downsample.1
        let stride: Int
    }

    public let modelID: String
    public let dimensions: Int
    public let preprocessing = Preprocessing(resolution: 224)
    let conv1: Convolution2D  // conv1 (7×7/2) + bn1 + ReLU
    let maxpool = MaxPool2D(kernel: 3, stride: 2, padding: 1)
    let layers: [[Bottleneck]]  // layer1 … layer4
    let fc: Linear?
    static let batchNormEpsilon: Float = 1e-5

    /// Loads a Bottleneck ResNet from a torchvision-style checkpoint (`.pth` zip or legacy, safetensors;
    /// `state_dict`/`model`/`module.` wrappers accepted).
    /// - Parameter name: Architecture name used in the model id (e.g. `resnet50`).
    public init(name: String = "resnet50", checkpointURL: URL) throws {
        var checkpoint = try Checkpoint.load(checkpointURL)
        if checkpoint.tensors["conv1.weight"] == nil {
            for prefix in ["state_dict.", "model.", "module.", "state_dict.module.", "backbone."]
            where checkpoint.tensors["\(prefix)conv1.weight"] != nil {
                checkpoint = checkpoint.stripping(prefix: prefix)
                break
            }
        }
        guard let stem = checkpoint.tensors["conv1.weight"], stem.shape.count == 4, stem.shape[1] == 3,
            stem.shape[0] > 0
        else {
            throw CheckpointMismatch(
                url: checkpointURL,
                reason: "no 'conv1.weight' of shape [width, 3, 7, 7]; not a torchvision ResNet checkpoint")
        }
        guard checkpoint.tensors["layer1.0.conv3.weight"] != nil else {
            throw CheckpointMismatch(
                url: checkpointURL,
                reason:
                    "has no 'layer1.0.conv3.weight': BasicBlock ResNets (18/34) are not supported, only Bottleneck ResNets (50/101/152)"
            )
        }
        let reader = WeightReader(checkpoint: checkpoint)
        let eps = Self.batchNormEpsilon
        let width = stem.shape[0]
        conv1 = try Self.dense(
            reader, conv: "conv1", bn: "bn1", out: width, in: 3, kernel: 7, stride: 2, activation: .relu, eps: eps)
        var inChannels = width
        var layers: [[Bottleneck]] = []
        for layer in 1...4 {
            var blocks: [Bottleneck] = []
            var index = 0
            while let shape = checkpoint.tensors["layer\(layer).\(index).conv1.weight"]?.shape {
                let prefix = "layer\(layer).\(index)"
                guard shape.count == 4, shape[0] > 0 else {
                    throw CheckpointMismatch(
                        url: checkpointURL,
                        reason: "'\(prefix).conv1.weight' has shape \(shape), "
                            + "expected [planes, in, 1, 1]")
                }
                let planes = shape[0]
                let stride = (layer > 1 && index == 0) ? 2 : 1
                let out = planes * 4
                let downsample =
                    checkpoint.tensors["\(prefix).downsample.0.weight"] == nil
                    ? nil
                    : try Self.dense(
                        reader, conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1",
                        out: out, in: inChannels, kernel: 1, stride: stride, activation: .none, eps: eps)
                if downsample == nil && (stride != 1 || inChannels != out) {
                    throw CheckpointMismatch(
                        url: checkpointURL, reason: "block \(prefix) changes shape but has no downsample")
                }
                blocks.append(
                    Bottleneck(
                        conv1: try reader.pointwise(
                            conv: "\(prefix).conv1", bn: "\(prefix).bn1", out: planes, in: inChannels,
                            epsilon: eps, activation: .relu),
                        conv2: try Self.dense(
                            reader, conv: "\(prefix).conv2", bn: "\(prefix).bn2", out: planes, in: planes,
                            kernel: 3, stride: stride, activation: .relu, eps: eps),
                        conv3: try reader.pointwise(
                            conv: "\(prefix).conv3", bn: "\(prefix).bn3", out: out, in: planes,
                            epsilon: eps, activation: .none),
                        downsample: downsample, stride: stride))
                inChannels = out
                index += 1
            }
            guard !blocks.isEmpty else {
                throw CheckpointMismatch(
                    url: checkpointURL,
                    reason: "has no blocks in layer\(layer) ('layer\(layer).0.conv1.weight' missing)")
            }
            layers.append(blocks)
        }
        self.layers = layers
        dimensions = inChannels
        if let fcShape = checkpoint.tensors["fc.weight"]?.shape, fcShape.count == 2 {
            fc = try reader.linear("fc", out: fcShape[0], in: inChannels)
        } else {
            fc = nil
        }
        modelID = "\(name)@\(checkpointURL.deletingPathExtension().lastPathComponent)"
    }

    /// A k×k convolution followed by batch norm, folded.
    static func dense(
        _ reader: WeightReader, conv: String, bn: String, out: Int, in inChannels: Int, kernel: Int,
        stride: Int, activation: Activation, eps: Float
    ) throws -> Convolution2D {
        let weight = try reader.convolutionWeight(conv, out: out, in: inChannels, kernel: kernel)
        let folded = try reader.batchNorm(bn, channels: out, epsilon: eps).fold(weight: weight)
        return Convolution2D(
            inChannels: inChannels, outChannels: out, kernel: kernel, stride: stride,
            weight: folded.weight, bias: folded.bias, activation: activation)
    }

    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        var output = [Float](repeating: 0, count: count * dimensions)
        let threads = defaultThreadCount
        let workers = min(threads, count)
        output.withUnsafeMutableBufferPointer { out in
            let base = UncheckedSendableBox(out.baseAddress!)
            parallelClaims(count, threads: workers) { next in
                while let i = next() {
                    let pooled = self.pooled(inputs.baseAddress! + i * inputCount, threads: workers == 1 ? threads : 1)
                    let row = base.value + i * dimensions
                    row.update(from: pooled, count: dimensions)
                    l2Normalize(UnsafeMutableBufferPointer(start: row, count: dimensions))
                }
            }
        }
        return output
    }

    /// The checkpoint's `fc` layer when it is a 1 000-way (ImageNet) classifier.
    public var imageNetClassifier: Linear? { fc?.outFeatures == 1000 ? fc : nil }

    /// Classifier logits for one preprocessed image, when the checkpoint has an `fc` layer.
    public func classify(_ input: [Float]) -> [Float]? {
        guard let fc else { return nil }
        return fc.apply(input.withUnsafeBufferPointer { pooled($0.baseAddress!, threads: defaultThreadCount) })
    }

    /// Stem, max-pool, the four layers and global average pooling for one CHW image.
    func pooled(_ input: UnsafePointer<Float>, threads: Int) -> [Float] {
        var size = preprocessing.resolution
        var x = run(conv1, input, channels: 3, size: &size, padding: 3, threads: threads)
        var pooledMap = [Float](repeating: 0, count: conv1.outChannels * ((size + 1) / 2) * ((size + 1) / 2))
        let (ph, _) = x.withUnsafeBufferPointer { src in
            pooledMap.withUnsafeMutableBufferPointer { dst in
                maxpool.apply(
                    src.baseAddress!, channels: conv1.outChannels, height: size, width: size, output: dst.baseAddress!)
            }
        }
        size = ph
        x = pooledMap
        var channels = conv1.outChannels
        for block in layers.joined() {
            let inputSize = size
            let t1 = pointwise(block.conv1, x, plane: size * size, threads: threads)
            var t2Size = size
            let t2 = t1.withUnsafeBufferPointer {
                run(
                    block.conv2, $0.baseAddress!, channels: block.conv1.outChannels, size: &t2Size, padding: 1,
                    threads: threads)
            }
            var out = pointwise(block.conv3, t2, plane: t2Size * t2Size, threads: threads)
            var identity = x
            if let downsample = block.downsample {
                var dsSize = inputSize
                identity = x.withUnsafeBufferPointer {
                    run(downsample, $0.baseAddress!, channels: channels, size: &dsSize, padding: 0, threads: threads)
                }
            }
            out.withUnsafeMutableBufferPointer { o in
                identity.withUnsafeBufferPointer { addReLUInPlace(o.baseAddress!, $0.baseAddress!, count: o.count) }
            }
            x = out
            size = t2Size
            channels = block.conv3.outChannels
        }
        var pooled = [Float](repeating: 0, count: channels)
        x.withUnsafeBufferPointer { src in
            pooled.withUnsafeMutableBufferPointer {
                globalAveragePool(src.baseAddress!, channels: channels, plane: size * size, output: $0.baseAddress!)
            }
        }
        return pooled
    }

    private func run(
        _ conv: Convolution2D, _ input: UnsafePointer<Float>, channels: Int, size: inout Int,
        padding: Int, threads: Int
    ) -> [Float] {
        FeatureMaps.convolve(conv, input, size: &size, padding: padding, threads: threads)
    }

    private func run(
        _ conv: Convolution2D, _ input: [Float], channels: Int, size: inout Int, padding: Int, threads: Int
    ) -> [Float] {
        input.withUnsafeBufferPointer {
            FeatureMaps.convolve(conv, $0.baseAddress!, size: &size, padding: padding, threads: threads)
        }
    }

    private func pointwise(_ conv: PointwiseConvolution, _ input: [Float], plane: Int, threads: Int) -> [Float] {
        FeatureMaps.pointwise(conv, input, plane: plane, threads: threads)
    }
}

/// Convolutions over channel-major (CHW) feature maps that return a new map: the ResNets' building steps.
enum FeatureMaps {
    /// A padded, strided k×k convolution of a `size`² map; `size` becomes the output side.
    static func convolve(
        _ conv: Convolution2D, _ input: UnsafePointer<Float>, size: inout Int, padding: Int, threads: Int
    ) -> [Float] {
        let out = convolutionOutputSize(
            size, kernel: conv.kernel, stride: conv.stride, padBefore: padding, padAfter: padding)
        var output = [Float](repeating: 0, count: conv.outChannels * out * out)
        var scratch = [Float](repeating: 0, count: conv.scratchCount(outHeight: out, outWidth: out))
        output.withUnsafeMutableBufferPointer { o in
            scratch.withUnsafeMutableBufferPointer { s in
                _ = conv.apply(
                    input, height: size, width: size, padding: .symmetric(padding),
                    output: o.baseAddress!, scratch: s.baseAddress!, threads: threads)
            }
        }
        size = out
        return output
    }

    /// A 1×1 convolution of a map of `plane` cells.
    static func pointwise(_ conv: PointwiseConvolution, _ input: [Float], plane: Int, threads: Int) -> [Float] {
        var output = [Float](repeating: 0, count: conv.outChannels * plane)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer {
                conv.apply(i.baseAddress!, plane: plane, output: $0.baseAddress!, threads: threads)
            }
        }
        return output
    }
}
