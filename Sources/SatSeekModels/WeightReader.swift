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
        Linear(inFeatures: inFeatures, outFeatures: out,
               weight: try checkpoint.floats("\(prefix).weight", shape: [out, inFeatures]),
               bias: try vector("\(prefix).bias", count: out))
    }

    /// A 1×1 convolution followed by batch norm, folded into one layer.
    func pointwise(conv: String, bn: String, out: Int, in inChannels: Int, epsilon: Float,
                   activation: Activation) throws -> PointwiseConvolution {
        let weight = try convolutionWeight(conv, out: out, in: inChannels, kernel: 1)
        let folded = try batchNorm(bn, channels: out, epsilon: epsilon).fold(weight: weight)
        return PointwiseConvolution(inChannels: inChannels, outChannels: out, weight: folded.weight,
                                    bias: folded.bias, activation: activation)
    }
}
