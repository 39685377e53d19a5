import Foundation
import SatSeekCheckpoint
import SatSeekTensor

/// The image tower of CLIP's ResNet models (RN50, RN101, RN50x4 …; RemoteCLIP-RN50): OpenAI's "modified ResNet",
/// keys under `visual.` — a three-convolution stem and a 2×2 average pool instead of one 7×7 convolution and a
/// max pool; Bottleneck blocks whose stride is an average pool after the 3×3 convolution (anti-aliased), and whose
/// shortcut average-pools before its 1×1 convolution; and, instead of global average pooling, one multi-head
/// attention step in which the mean of the final feature map, with learned positions, attends over all its cells
/// (`attnpool`: `q_proj`, `k_proj`, `v_proj`, `c_proj`). Batch norm is folded into the convolutions.
struct CLIPResNetTower: Sendable {
    struct Block: Sendable {
        let conv1: PointwiseConvolution  // conv1 + bn1 + ReLU
        let conv2: Convolution2D  // conv2 (3×3) + bn2 + ReLU
        let conv3: PointwiseConvolution  // conv3 + bn3
        let downsample: PointwiseConvolution?  // downsample.0 + downsample.1, after the average pool
        let stride: Int
    }

    static let positionsKey = "visual.attnpool.positional_embedding"

    let stem: [Convolution2D]
    let stages: [[Block]]
    /// Width of the attention pool (the last stage's channels).
    let width: Int
    let positions: [Float]
    let query: Linear, key: Linear, value: Linear, output: Linear
    let heads: Int
    let imageSize: Int

    /// Blocks per stage and stem width, read from the tensor names and shapes.
    static func shape(of checkpoint: Checkpoint) throws -> (stages: [Int], stemWidth: Int) {
        guard let stem = checkpoint.tensors["visual.conv3.weight"]?.shape, stem.count == 4, stem[0] > 0 else {
            throw CheckpointMismatch(url: checkpoint.url, reason: "no 'visual.conv3.weight': not a ResNet CLIP stem")
        }
        let stages = (1...4).map { layer in
            var count = 0
            while checkpoint.tensors["visual.layer\(layer).\(count).conv1.weight"] != nil { count += 1 }
            return count
        }
        guard stages.allSatisfy({ $0 > 0 }) else {
            throw CheckpointMismatch(url: checkpoint.url, reason: "a ResNet CLIP needs blocks in visual.layer1…4")
        }
        return (stages, stem[0])
    }

    init(checkpoint: Checkpoint, heads: Int, imageSize: Int, embed: Int) throws {
        let reader = WeightReader(checkpoint: checkpoint)
        let eps = ResNet.batchNormEpsilon
        let (stageCounts, stemWidth) = try Self.shape(of: checkpoint)
        let half = stemWidth / 2
        stem = try [(1, 3, half, 2), (2, half, half, 1), (3, half, stemWidth, 1)].map {
            index, inputs, outputs, stride in
            try ResNet.dense(
                reader, conv: "visual.conv\(index)", bn: "visual.bn\(index)", out: outputs, in: inputs, kernel: 3,
                stride: stride, activation: .relu, eps: eps)
        }
        var inChannels = stemWidth
        var stages: [[Block]] = []
        for (layer, count) in stageCounts.enumerated() {
            let planes = stemWidth << layer
            stages.append(
                try (0..<count).map { index in
                    let prefix = "visual.layer\(layer + 1).\(index)"
                    let stride = layer > 0 && index == 0 ? 2 : 1
                    let hasShortcut = checkpoint.tensors["\(prefix).downsample.0.weight"] != nil
                    guard hasShortcut || (stride == 1 && inChannels == planes * 4) else {
                        throw CheckpointMismatch(
                            url: checkpoint.url, reason: "block \(prefix) changes shape but has no downsample")
                    }
                    let block = Block(
                        conv1: try reader.pointwise(
                            conv: "\(prefix).conv1", bn: "\(prefix).bn1", out: planes, in: inChannels, epsilon: eps,
                            activation: .relu),
                        conv2: try ResNet.dense(
                            reader, conv: "\(prefix).conv2", bn: "\(prefix).bn2", out: planes, in: planes, kernel: 3,
                            stride: 1, activation: .relu, eps: eps),
                        conv3: try reader.pointwise(
                            conv: "\(prefix).conv3", bn: "\(prefix).bn3", out: planes * 4, in: planes, epsilon: eps,
                            activation: .none),
                        downsample: hasShortcut
                            ? try reader.pointwise(
                                conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", out: planes * 4,
                                in: inChannels, epsilon: eps, activation: .none) : nil,
                        stride: stride)
                    inChannels = planes * 4
                    return block
                })
        }
        self.stages = stages
        width = inChannels
        let grid = imageSize / 32
        positions = try checkpoint.floats(Self.positionsKey, shape: [grid * grid + 1, width])
        query = try reader.linear("visual.attnpool.q_proj", out: width, in: width)
        key = try reader.linear("visual.attnpool.k_proj", out: width, in: width)
        value = try reader.linear("visual.attnpool.v_proj", out: width, in: width)
        output = try reader.linear("visual.attnpool.c_proj", out: embed, in: width)
        self.heads = heads
        self.imageSize = imageSize
    }

    /// The projected (unnormalised) image embedding of one CHW tensor of `imageSize`².
    func features(_ image: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>, threads: Int) {
        var size = imageSize
        var x = Array(UnsafeBufferPointer(start: image, count: 3 * size * size))
        var channels = 3
        for conv in stem {
            x = Self.convolve(conv, x, size: &size, padding: 1, threads: threads)
            channels = conv.outChannels
        }
        x = Self.averagePool(x, channels: channels, size: &size, by: 2)
        for block in stages.joined() {
            let inputSize = size
            var blockSize = size
            var t = Self.pointwise(block.conv1, x, plane: size * size, threads: threads)
            t = Self.convolve(block.conv2, t, size: &blockSize, padding: 1, threads: threads)
            t = Self.averagePool(t, channels: block.conv2.outChannels, size: &blockSize, by: block.stride)
            var out = Self.pointwise(block.conv3, t, plane: blockSize * blockSize, threads: threads)
            var identity = x
            if let downsample = block.downsample {
                var shortcutSize = inputSize
                identity = Self.averagePool(x, channels: channels, size: &shortcutSize, by: block.stride)
                identity = Self.pointwise(downsample, identity, plane: shortcutSize * shortcutSize, threads: threads)
            }
            out.withUnsafeMutableBufferPointer { o in
                identity.withUnsafeBufferPointer { addReLUInPlace(o.baseAddress!, $0.baseAddress!, count: o.count) }
            }
            x = out
            size = blockSize
            channels = block.conv3.outChannels
        }
        attentionPool(x, cells: size * size, into: result)
    }

    /// The mean cell, with positions added to every cell, attends over all cells (one query, `heads` heads).
    private func attentionPool(_ map: [Float], cells: Int, into result: UnsafeMutablePointer<Float>) {
        let tokens = cells + 1, c = width, headWidth = c / heads
        var x = [Float](repeating: 0, count: tokens * c)  // token-major
        for channel in 0..<c {
            var sum: Float = 0
            for cell in 0..<cells {
                let v = map[channel * cells + cell]
                x[(cell + 1) * c + channel] = v
                sum += v
            }
            x[channel] = sum / Float(cells)
        }
        for i in 0..<(tokens * c) { x[i] += positions[i] }
        var q = [Float](repeating: 0, count: c)
        var k = [Float](repeating: 0, count: tokens * c), v = [Float](repeating: 0, count: tokens * c)
        x.withUnsafeBufferPointer { xb in
            q.withUnsafeMutableBufferPointer { query.apply(xb.baseAddress!, rows: 1, into: $0.baseAddress!) }
            k.withUnsafeMutableBufferPointer { key.apply(xb.baseAddress!, rows: tokens, into: $0.baseAddress!) }
            v.withUnsafeMutableBufferPointer { value.apply(xb.baseAddress!, rows: tokens, into: $0.baseAddress!) }
        }
        let scale = 1 / Float(headWidth).squareRoot()
        var attended = [Float](repeating: 0, count: c)
        var weights = [Float](repeating: 0, count: tokens)
        for head in 0..<heads {
            let offset = head * headWidth
            var maximum = -Float.infinity
            for t in 0..<tokens {
                var dot: Float = 0
                for j in 0..<headWidth { dot += q[offset + j] * k[t * c + offset + j] }
                weights[t] = dot * scale
                maximum = max(maximum, weights[t])
            }
            var total: Float = 0
            for t in 0..<tokens {
                weights[t] = Foundation.exp(weights[t] - maximum)
                total += weights[t]
            }
            for t in 0..<tokens {
                let w = weights[t] / total
                for j in 0..<headWidth { attended[offset + j] += w * v[t * c + offset + j] }
            }
        }
        attended.withUnsafeBufferPointer { output.apply($0.baseAddress!, rows: 1, into: result) }
    }

    static func convolve(
        _ conv: Convolution2D, _ input: [Float], size: inout Int, padding: Int, threads: Int
    ) -> [Float] {
        input.withUnsafeBufferPointer {
            FeatureMaps.convolve(conv, $0.baseAddress!, size: &size, padding: padding, threads: threads)
        }
    }

    static func pointwise(_ conv: PointwiseConvolution, _ input: [Float], plane: Int, threads: Int) -> [Float] {
        FeatureMaps.pointwise(conv, input, plane: plane, threads: threads)
    }

    /// `nn.AvgPool2d(k)` (kernel = stride = k, no padding, floor) of a CHW map; k = 1 returns it unchanged.
    static func averagePool(_ input: [Float], channels: Int, size: inout Int, by k: Int) -> [Float] {
        guard k > 1 else { return input }
        let out = size / k
        var output = [Float](repeating: 0, count: channels * out * out)
        let scale = 1 / Float(k * k)
        for c in 0..<channels {
            for y in 0..<out {
                for x in 0..<out {
                    var sum: Float = 0
                    for dy in 0..<k {
                        for dx in 0..<k { sum += input[c * size * size + (y * k + dy) * size + x * k + dx] }
                    }
                    output[c * out * out + y * out + x] = sum * scale
                }
            }
        }
        size = out
        return output
    }
}
