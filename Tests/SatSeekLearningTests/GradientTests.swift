import Testing
@testable import SatSeekLearning

@Suite("finite-difference gradient checks")
struct GradientTests {
    @Test("dense layer: input, weight and bias gradients")
    func dense() {
        var random = RandomSource(seed: 1)
        let layer = DenseLayer(inputs: 5, outputs: 4, gain: 1, random: &random)
        var layerWithBias = layer
        layerWithBias.bias = (0..<4).map { Float($0) * 0.1 - 0.2 }
        let x = randomMatrix(3, 5, seed: 2)
        let r = randomMatrix(3, 4, seed: 3)
        let (grads, dx) = layerWithBias.backward(input: x, outputGradient: r)
        expectInputGradient(dx!.values, at: x, weights: r, "dense ∂x") { layerWithBias.forward($0) }
        expectClose(
            grads.weight,
            numericGradient(layerWithBias.weight) { w in
                var l = layerWithBias
                l.weight = w
                return weightedSum(l.forward(x), r)
            }, "dense ∂W")
        expectClose(
            grads.bias,
            numericGradient(layerWithBias.bias) { b in
                var l = layerWithBias
                l.bias = b
                return weightedSum(l.forward(x), r)
            }, "dense ∂b")
    }

    @Test("ReLU, tanh and identity activations", arguments: [ElementActivation.relu, .tanh, .identity])
    func activation(_ activation: ElementActivation) {
        var x = randomMatrix(4, 6, seed: 4)
        // Keep ReLU inputs away from its kink so that central differences are valid.
        for i in x.values.indices where abs(x.values[i]) < 0.05 { x.values[i] = 0.3 }
        let r = randomMatrix(4, 6, seed: 5)
        let y = activation.forward(x)
        let dx = activation.backward(input: x, output: y, outputGradient: r)
        expectInputGradient(dx.values, at: x, weights: r, "\(activation)") { activation.forward($0) }
    }

    @Test("row L2 normalisation")
    func normalisation() {
        let x = randomMatrix(3, 5, seed: 6)
        let r = randomMatrix(3, 5, seed: 7)
        let (y, norms) = RowNormalization.forward(x)
        let dx = RowNormalization.backward(output: y, norms: norms, outputGradient: r)
        expectInputGradient(dx.values, at: x, weights: r, "normalise") { RowNormalization.forward($0).output }
    }

    @Test("triplet loss with mining", arguments: TripletMining.allCases)
    func triplet(_ mining: TripletMining) {
        let h = randomMatrix(12, 6, seed: 8)
        let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
        let loss = TripletLoss(margin: 0.8, mining: mining, distanceScale: 1 / 6)
        let (value, triplets, active) = loss.evaluate(h, labels: labels)
        #expect(triplets == (mining == .hard ? 12 : 24))
        #expect(active > 0 && value.loss > 0)
        expectClose(
            value.gradient.values,
            numericGradient(h.values, epsilon: 1e-3) { v in
                Double(loss.evaluate(Matrix(rows: 12, columns: 6, values: v), labels: labels).value.loss)
            }, "triplet \(mining)")
    }

    @Test("semi-hard mining picks the closest negative farther than the positive")
    func semiHardChoice() {
        // 1-D points: anchor 0, positive at 1; negatives at 0.5 (harder), 1.5 (semi-hard), 3 (easy).
        let h = Matrix(rows: 5, columns: 1, values: [0, 1, 0.5, 1.5, 3])
        let labels = [0, 0, 1, 2, 3]
        let loss = TripletLoss(margin: 2, mining: .semiHard)
        let (value, triplets, _) = loss.evaluate(h, labels: labels)
        // Anchor 0, positive 1: d_ap = 1; negatives at 0.25, 2.25, 9 → semi-hard 2.25 → 1 − 2.25 + 2 = 0.75.
        // Anchor 1, positive 0: d_ap = 1; negatives at 0.25, 0.25, 4 → 4 → 1 − 4 + 2 < 0, no loss.
        #expect(triplets == 2)
        #expect(abs(value.loss - 0.75 / 2) < 1e-6)
    }

    @Test("push-to-binary and bit-balance losses")
    func hashingTerms() {
        var h = randomMatrix(5, 7, seed: 9, scale: 1.5)
        for i in h.values.indices where abs(h.values[i]) < 0.05 { h.values[i] = 0.4 }
        let r = PushToBinaryLoss.evaluate(h)
        expectClose(
            r.gradient.values,
            numericGradient(h.values) { v in
                Double(PushToBinaryLoss.evaluate(Matrix(rows: 5, columns: 7, values: v)).loss)
            }, "push")
        let b = BitBalanceLoss.evaluate(h)
        expectClose(
            b.gradient.values,
            numericGradient(h.values) { v in
                Double(BitBalanceLoss.evaluate(Matrix(rows: 5, columns: 7, values: v)).loss)
            }, "balance")
        #expect(PushToBinaryLoss.evaluate(Matrix(rows: 1, columns: 2, values: [1, -1])).loss == 0)
        #expect(BitBalanceLoss.evaluate(Matrix(rows: 2, columns: 2, values: [1, -1, -1, 1])).loss == 0)
    }

    @Test("whole head: every parameter through the full objective", arguments: [HeadOutput.codes, .float])
    func head(_ output: HeadOutput) throws {
        var random = RandomSource(seed: 10)
        let head = try MLPHead(
            architecture: HeadArchitecture(
                inputDimensions: 6, hiddenSizes: [5, 4],
                outputDimensions: 3, output: output), random: &random)
        let x = randomMatrix(8, 6, seed: 11)
        let labels = [0, 0, 1, 1, 2, 2, 3, 3]
        var configuration = TrainingConfiguration()
        configuration.bits = 3
        configuration.output = output
        configuration.margin = 1.0
        let objective = configuration.objective
        func loss(_ h: MLPHead) -> Double {
            Double(objective.evaluate(h.forwardTrace(x).output, labels: labels).terms.total)
        }
        let trace = head.forwardTrace(x)
        let gradients = head.backward(trace, outputGradient: objective.evaluate(trace.output, labels: labels).gradient)
        for i in head.layers.indices {
            expectClose(
                gradients[i].weight,
                numericGradient(head.layers[i].weight) { w in
                    var h = head
                    h.layers[i].weight = w
                    return loss(h)
                }, "\(output) layer \(i) ∂W")
            expectClose(
                gradients[i].bias,
                numericGradient(head.layers[i].bias) { b in
                    var h = head
                    h.layers[i].bias = b
                    return loss(h)
                }, "\(output) layer \(i) ∂b")
        }
    }
}
