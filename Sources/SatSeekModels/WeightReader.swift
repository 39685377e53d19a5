import SatSeekCheckpoint
import SatSeekTensor

/// Reads layers out of a checkpoint by their key prefix (`_blocks.3._bn1` → `.weight`, `.bias`, …),
/// checking every shape; errors name the file and the missing or mis-shaped tensor.
struct WeightReader {
    let checkpoint: Checkpoint

    func convolutionWeight(_ prefix: String, out: Int, in inChannels: Int, kernel: Int) throws -> [Float] {
        try checkpoint.floats("\(prefix).weight", shape: [out, inChannels, kernel, kernel])
    }

    func vector(_ name: String, count: Int) throws -> [Float] {
        try checkpoint.floats(name, shape: [count])
    }

    func batchNorm(_ prefix: String, channels: Int, epsilon: Float) throws -> BatchNormParameters {
        BatchNormParameters(
            gamma: try vector("\(prefix).weight", count: channels),
            beta: try vector("\(prefix).bias", count: channels),
            mean: try vector("\(prefix).running_mean", count: channels),
            variance: try vector("\(prefix).running_var", count: channels),
            epsilon: epsilon)
    }

    func linear(_ prefix: String, out: Int, in inFeatures: Int) throws -> Linear {
        Linear(
            inFeatures: inFeatures, outFeatures: out,
            weight: try checkpoint.floats("\(prefix).weight", shape: [out, inFeatures]),
            bias: try vector("\(prefix).bias", count: out))
    }

    func layerNorm(_ prefix: String, width: Int, epsilon: Float) throws -> LayerNorm {
        LayerNorm(
            gamma: try vector("\(prefix).weight", count: width), beta: try vector("\(prefix).bias", count: width),
            epsilon: epsilon)
    }

    /// Self-attention from separate query/key/value projections (Hugging Face `q_proj`/`k_proj`/`v_proj`,
    /// BERT `query`/`key`/`value`), fused into one `3·width × width` input projection.
    func attention(
        query: String, key: String, value: String, output: String, width: Int,
        heads: Int
    ) throws -> MultiHeadSelfAttention {
        let q = try linear(query, out: width, in: width), k = try linear(key, out: width, in: width)
        let v = try linear(value, out: width, in: width)
        return MultiHeadSelfAttention(
            inProjection: Linear(
                inFeatures: width, outFeatures: 3 * width, weight: q.weight + k.weight + v.weight,
                bias: q.bias + k.bias + v.bias),
            outProjection: try linear(output, out: width, in: width), heads: heads)
    }

    /// A 1×1 convolution followed by batch norm, folded into one layer.
    func pointwise(
        conv: String, bn: String, out: Int, in inChannels: Int, epsilon: Float,
        activation: Activation
    ) throws -> PointwiseConvolution {
        let weight = try convolutionWeight(conv, out: out, in: inChannels, kernel: 1)
        let folded = try batchNorm(bn, channels: out, epsilon: epsilon).fold(weight: weight)
        return PointwiseConvolution(
            inChannels: inChannels, outChannels: out, weight: folded.weight,
            bias: folded.bias, activation: activation)
    }
}
