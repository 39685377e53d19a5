import Foundation

/// Adam with decoupled weight decay (AdamW, Loshchilov & Hutter):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr·(m̂ / (√v̂ + ε) + λθ)` with bias-corrected
/// `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`. Decay is applied only to tensors registered with `decay: true`
/// (weights, not biases).
public struct AdamOptimizer: Sendable {
    /// Step size (the trainer changes it every step for its schedule).
    public var learningRate: Float
    /// Decay of the first-moment (mean) estimate.
    public var beta1: Float
    /// Decay of the second-moment (uncentred variance) estimate.
    public var beta2: Float
    /// Added to √v̂ to avoid division by zero.
    public var epsilon: Float
    /// Decoupled decay rate λ for tensors updated with `decay: true`.
    public var weightDecay: Float
    /// Steps taken so far (t in the bias correction).
    public private(set) var step = 0
    private var first: [[Float]] = []
    private var second: [[Float]] = []

    /// An optimiser with empty moment estimates.
    public init(
        learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Starts a new step; call once before the ``update(_:gradient:slot:decay:)`` calls of that step.
    public mutating func beginStep() { step += 1 }

    /// Updates one parameter tensor in place. `slot` identifies the tensor (its moment estimates) and
    /// must be used for the same tensor at every step.
    public mutating func update(_ parameters: inout [Float], gradient: [Float], slot: Int, decay: Bool) {
        precondition(step > 0, "call beginStep() first")
        precondition(parameters.count == gradient.count, "parameter and gradient sizes differ")
        while first.count <= slot {
            first.append([])
            second.append([])
        }
        if first[slot].isEmpty {
            first[slot] = [Float](repeating: 0, count: parameters.count)
            second[slot] = [Float](repeating: 0, count: parameters.count)
        }
        let t = Float(step)
        let correction1 = 1 - pow(beta1, t)
        let correction2 = 1 - pow(beta2, t)
        let lr = learningRate, b1 = beta1, b2 = beta2, eps = epsilon
        let decayRate = decay ? weightDecay : 0
        first[slot].withUnsafeMutableBufferPointer { m in
            second[slot].withUnsafeMutableBufferPointer { v in
                for i in 0..<parameters.count {
                    let g = gradient[i]
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mHat = m[i] / correction1
                    let vHat = v[i] / correction2
                    parameters[i] -= lr * (mHat / (vHat.squareRoot() + eps) + decayRate * parameters[i])
                }
            }
        }
    }
}
