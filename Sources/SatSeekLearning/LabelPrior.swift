import Foundation
import SatSeekTensor

/// Text→image scores with no text training at all, from what the image model already knows: its ImageNet
/// classifier gives every image a distribution over 1 000 labels, a sentence encoder places the labels and the
/// query in one space, and an image scores the cosine between the query and the probability-weighted mean of its
/// likely labels' text embeddings (ConSE: Norouzi et al., "Zero-Shot Learning by Convex Combination of Semantic
/// Embeddings", ICLR 2014).
///
/// Each image is kept as a short *code* of `2·topCount + 1` floats — its `topCount` most probable labels, their
/// probabilities renormalised over those labels, and the norm of their weighted text embedding — so a query costs
/// one product of the label texts with the query plus `topCount` multiply–adds per image.
public struct LabelPrior: Sendable {
    /// The classifier over pooled image features (`labels × imageDimensions`).
    public let classifier: Linear
    /// Multiplies an L2-normalised embedding before the classifier: the archive keeps unit vectors, the
    /// classifier was trained on pooled features whose length is about this (it sets how peaked the label
    /// distribution is).
    public let logitScale: Float
    /// Labels kept per image.
    public let topCount: Int
    /// One L2-normalised text embedding per label (`labels × textDimensions`).
    public let labelTexts: Matrix

    public init(classifier: Linear, logitScale: Float, topCount: Int, labelTexts: Matrix) {
        precondition(labelTexts.rows == classifier.outFeatures, "one text per classifier output")
        precondition(topCount >= 1 && topCount <= classifier.outFeatures)
        self.classifier = classifier
        self.logitScale = logitScale
        self.topCount = topCount
        self.labelTexts = labelTexts
    }

    /// Floats per image code.
    public var codeLength: Int { 2 * topCount + 1 }
    public var imageDimensions: Int { classifier.inFeatures }
    public var textDimensions: Int { labelTexts.columns }

    /// Codes of `count` L2-normalised embeddings (`count × imageDimensions`): per image the label indices, their
    /// weights (summing to 1) and the length of the weighted label-text sum.
    public func encode(_ embeddings: [Float], count: Int) -> [Float] {
        precondition(embeddings.count == count * imageDimensions, "expected \(count) × \(imageDimensions) floats")
        let labels = classifier.outFeatures, dims = imageDimensions, top = topCount
        var logits = [Float](repeating: 0, count: count * labels)
        embeddings.withUnsafeBufferPointer { x in
            classifier.weight.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { out in
                    gemm(
                        transposeA: false, transposeB: true, m: count, n: labels, k: dims, alpha: logitScale,
                        a: x.baseAddress!, lda: dims, b: w.baseAddress!, ldb: dims, beta: 0,
                        c: out.baseAddress!, ldc: labels)
                }
            }
        }
        var codes = [Float](repeating: 0, count: count * codeLength)
        for image in 0..<count {
            let row = image * labels
            for j in 0..<labels { logits[row + j] += classifier.bias[j] }
            let best = Self.largest(top, of: logits[row..<(row + labels)])
            // Softmax restricted to the kept labels = the full softmax renormalised over them.
            let maximum = logits[row + best[0]]
            let exps = best.map { Foundation.exp(Double(logits[row + $0] - maximum)) }
            let total = exps.reduce(0, +)
            let base = image * codeLength
            var mixed = [Float](repeating: 0, count: textDimensions)
            for (t, label) in best.enumerated() {
                let weight = Float(exps[t] / total)
                codes[base + t] = Float(label)
                codes[base + top + t] = weight
                for j in 0..<textDimensions { mixed[j] += weight * labelTexts[label, j] }
            }
            codes[base + 2 * top] = mixed.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
        return codes
    }

    /// Cosine between `query` (an L2-normalised text embedding) and each coded image's weighted label text.
    public func scores(query: [Float], codes: [Float], count: Int) -> [Float] {
        precondition(query.count == textDimensions, "query has \(query.count) values, expected \(textDimensions)")
        precondition(codes.count == count * codeLength, "expected \(count) codes of \(codeLength) floats")
        let labels = labelTexts.rows, dims = textDimensions
        var similarity = [Float](repeating: 0, count: labels)
        for label in 0..<labels {
            var dot: Float = 0
            for j in 0..<dims { dot += labelTexts.values[label * dims + j] * query[j] }
            similarity[label] = dot
        }
        var scores = [Float](repeating: 0, count: count)
        for image in 0..<count {
            let base = image * codeLength
            var sum: Float = 0
            for t in 0..<topCount {
                let stored = codes[base + t]
                // A damaged code (not a label index, NaN) scores what it can; never traps or reads out of bounds.
                guard stored >= 0, stored < Float(labels) else { continue }
                sum += codes[base + topCount + t] * similarity[Int(stored)]
            }
            let norm = codes[base + 2 * topCount]
            scores[image] = norm > 0 ? sum / norm : 0
        }
        return scores
    }

    /// Indices of the `count` largest values, largest first (ties: smaller index first).
    static func largest(_ count: Int, of values: ArraySlice<Float>) -> [Int] {
        var kept: [(value: Float, index: Int)] = []
        kept.reserveCapacity(count + 1)
        for (offset, value) in values.enumerated() {
            if kept.count == count, let last = kept.last, value <= last.value { continue }
            let position = kept.firstIndex { value > $0.value } ?? kept.count
            kept.insert((value, offset), at: position)
            if kept.count > count { kept.removeLast() }
        }
        return kept.map(\.index)
    }
}
