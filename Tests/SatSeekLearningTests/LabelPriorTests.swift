import Foundation
import SatSeekTensor
import Testing
@testable import SatSeekLearning

/// The label prior (ConSE) against a plain double-precision computation of its definition: full softmax of the
/// scaled logits, the `topCount` most probable labels renormalised, their text embeddings mixed, cosine to the query.
@Suite("Label prior (ConSE)")
struct LabelPriorTests {
    static func reference(
        embedding: [Float], query: [Float], classifier: Linear, scale: Float, top: Int, texts: Matrix
    ) -> Double {
        let logits = (0..<classifier.outFeatures).map { label in
            Double(classifier.bias[label])
                + (0..<classifier.inFeatures).reduce(0.0) {
                    $0 + Double(scale) * Double(classifier.weight[label * classifier.inFeatures + $1])
                        * Double(embedding[$1])
                }
        }
        let maximum = logits.max()!
        let exps = logits.map { Foundation.exp($0 - maximum) }
        let total = exps.reduce(0, +)
        let best = exps.indices.sorted { exps[$0] > exps[$1] || (exps[$0] == exps[$1] && $0 < $1) }.prefix(top)
        let kept = best.reduce(0.0) { $0 + exps[$1] / total }
        var mixed = [Double](repeating: 0, count: texts.columns)
        for label in best {
            for j in 0..<texts.columns { mixed[j] += exps[label] / total / kept * Double(texts[label, j]) }
        }
        let norm = mixed.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return zip(mixed, query).reduce(0.0) { $0 + $1.0 * Double($1.1) } / norm
    }

    static func unit(_ values: [Float]) -> [Float] {
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { $0 / norm }
    }

    @Test("codes and scores equal the definition computed directly", arguments: [1, 3, 12])
    func matchesDefinition(top: Int) {
        let labels = 12, dims = 9, textDims = 5, images = 7
        let weights = randomMatrix(labels, dims, seed: 1)
        let bias = randomMatrix(1, labels, seed: 2, scale: 0.5).values
        let classifier = Linear(inFeatures: dims, outFeatures: labels, weight: weights.values, bias: bias)
        var texts = randomMatrix(labels, textDims, seed: 3)
        for row in 0..<labels {
            let normalised = Self.unit(Array(texts.values[(row * textDims)..<((row + 1) * textDims)]))
            for j in 0..<textDims { texts[row, j] = normalised[j] }
        }
        let prior = LabelPrior(classifier: classifier, logitScale: 4, topCount: top, labelTexts: texts)
        let embeddings = (0..<images).flatMap { Self.unit(randomMatrix(1, dims, seed: 10 + UInt64($0)).values) }
        let codes = prior.encode(embeddings, count: images)
        #expect(codes.count == images * (2 * top + 1))
        for image in 0..<images {
            let weights = codes[(image * prior.codeLength + top)..<(image * prior.codeLength + 2 * top)]
            #expect(abs(weights.reduce(0, +) - 1) < 1e-5)
            #expect(zip(weights, weights.dropFirst()).allSatisfy { $0 >= $1 }, "most probable first")
        }
        let query = Self.unit(randomMatrix(1, textDims, seed: 99).values)
        let scores = prior.scores(query: query, codes: codes, count: images)
        for image in 0..<images {
            let expected = Self.reference(
                embedding: Array(embeddings[(image * dims)..<((image + 1) * dims)]), query: query,
                classifier: classifier, scale: 4, top: top, texts: texts)
            #expect(abs(Double(scores[image]) - expected) < 1e-4, "image \(image): \(scores[image]) vs \(expected)")
        }
    }

    @Test("an image whose classifier is sure of one label scores that label's text, and a damaged code is bounded")
    func confidentLabel() {
        // Label j fires on feature j; label texts are the unit axes.
        let classifier = Linear(
            inFeatures: 3, outFeatures: 3, weight: [1, 0, 0, 0, 1, 0, 0, 0, 1], bias: [0, 0, 0])
        let texts = Matrix(rows: 3, columns: 3, values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let prior = LabelPrior(classifier: classifier, logitScale: 50, topCount: 2, labelTexts: texts)
        var codes = prior.encode([0, 1, 0], count: 1)
        #expect(codes[0] == 1, "label 1 first")
        #expect(prior.scores(query: [0, 1, 0], codes: codes, count: 1)[0] > 0.99)
        #expect(prior.scores(query: [1, 0, 0], codes: codes, count: 1)[0] < 0.01)
        codes[0] = 7_000  // not a label: skipped, never read out of bounds
        codes[1] = .nan
        #expect(prior.scores(query: [0, 1, 0], codes: codes, count: 1) == [0])
    }
}
