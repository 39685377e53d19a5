/// Batch-norm statistics as stored in a checkpoint (`weight`, `bias`, `running_mean`, `running_var`).
public struct BatchNormParameters: Sendable {
    public var gamma: [Float]
    public var beta: [Float]
    public var mean: [Float]
    public var variance: [Float]
    public var epsilon: Float

    public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float) {
        self.gamma = gamma
        self.beta = beta
        self.mean = mean
        self.variance = variance
        self.epsilon = epsilon
    }

    /// Folds inference-mode batch norm into the preceding convolution.
    ///
    /// `y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta` becomes a convolution with weights scaled per
    /// output channel and a bias, computed in Double to keep the folded weights exact to float precision.
    /// - Parameters:
    ///   - weight: Convolution weights, `outChannels × perChannel` row-major.
    ///   - bias: Existing convolution bias, if any.
    /// - Returns: The folded weights and bias.
    public func fold(weight: [Float], bias: [Float]? = nil) -> (weight: [Float], bias: [Float]) {
        let outChannels = gamma.count
        checkArgument(outChannels > 0 && weight.count % outChannels == 0, "weight does not match batch-norm channels")
        let perChannel = weight.count / outChannels
        var folded = weight
        var foldedBias = [Float](repeating: 0, count: outChannels)
        for c in 0..<outChannels {
            let scale = Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()
            for i in 0..<perChannel {
                folded[c * perChannel + i] = Float(Double(weight[c * perChannel + i]) * scale)
            }
            let b = Double(bias?[c] ?? 0)
            foldedBias[c] = Float((b - Double(mean[c])) * scale + Double(beta[c]))
        }
        return (folded, foldedBias)
    }
}
