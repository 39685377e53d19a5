import Foundation
import Testing
@testable import SatSeekLearning

/// Small synthetic embeddings where the right answer is known.
@Suite("relevance-feedback learners")
struct RelevanceFeedbackTests {
    /// Unit vector along `axis` plus noise of `noise` on every axis.
    func point(_ axis: Int, dimensions: Int = 8, noise: Float, random: inout RandomSource) -> [Float] {
        var v = (0..<dimensions).map { _ in (random.nextUnit() * 2 - 1) * noise }
        v[axis] += 1
        return v
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        return dot
            / (RelevanceFeedback.unit(a).isEmpty
                ? 1 : sqrt(a.reduce(0) { $0 + $1 * $1 }) * sqrt(b.reduce(0) { $0 + $1 * $1 }))
    }

    @Test("Rocchio: the positives' mean minus the weighted negatives' mean; cosine scores")
    func rocchio() {
        var settings = RelevanceFeedback.Settings()
        settings.negativeWeight = 0.25
        let model = RelevanceFeedback.fit(
            positives: [[1, 0, 0], [0, 1, 0]], negatives: [[0, 0, 1]], learner: .rocchio,
            settings: settings)
        #expect(model.learner == .rocchio)
        #expect(model.direction == [0.5, 0.5, -0.25])
        #expect(model.score(cosine: 0.3) == 0.3)
        #expect(model.minimumCosine(forScore: 0.7) == 0.7)
    }

    @Test("auto: Rocchio without negatives, logistic regression with them")
    func autoRule() {
        #expect(RelevanceFeedback.resolve(.auto, negatives: 0) == .rocchio)
        #expect(RelevanceFeedback.resolve(.auto, negatives: 1) == .logistic)
        #expect(RelevanceFeedback.resolve(.rocchio, negatives: 5) == .rocchio)
    }

    @Test("logistic regression separates two clusters that Rocchio's prototype confuses")
    func logisticSeparates() {
        // Relevant: axis 0 with axis 1 positive; not relevant: axis 0 with axis 1 negative. Both clusters share
        // the strong axis 0, so the positives' mean points mostly at it; the learned direction must use axis 1.
        var random = RandomSource(seed: 4)
        func sample(_ sign: Float) -> [Float] {
            var v = point(0, noise: 0.05, random: &random)
            v[1] += 0.3 * sign
            return v
        }
        let positives = (0..<6).map { _ in sample(1) }
        let negatives = (0..<6).map { _ in sample(-1) }
        let model = RelevanceFeedback.fit(positives: positives, negatives: negatives, learner: .logistic)
        #expect(model.learner == .logistic)
        let heldOutPositive = sample(1), heldOutNegative = sample(-1)
        let p = model.score(cosine: cosine(model.direction, heldOutPositive))
        let n = model.score(cosine: cosine(model.direction, heldOutNegative))
        #expect(p > 0.5 && n < 0.5, "probabilities \(p) / \(n)")
        // The probability threshold maps back onto the cosine scale exactly.
        let c = model.minimumCosine(forScore: 0.5)
        #expect(abs(model.score(cosine: c) - 0.5) < 1e-4)
    }

    @Test("the fit is class-balanced: many negatives do not swamp a few positives")
    func balanced() {
        var random = RandomSource(seed: 9)
        let positives = (0..<2).map { _ in point(2, noise: 0.1, random: &random) }
        let negatives = (0..<60).map { i in point(i % 2 == 0 ? 3 : 4, noise: 0.1, random: &random) }
        let model = RelevanceFeedback.fit(positives: positives, negatives: negatives, learner: .logistic)
        let probe = point(2, noise: 0.1, random: &random)
        #expect(model.score(cosine: cosine(model.direction, probe)) > 0.5)
    }

    @Test("archive statistics: the mean of the unit-length rows")
    func statistics() {
        let statistics = ArchiveStatistics(vectors: [3, 0, 0, 0, 0, 2, 0, 0, -5, 0], dimensions: 2)
        #expect(statistics.count == 5)
        #expect(statistics.mean == [0, 0.2], "rows [1,0], zero, [0,1], zero, [-1,0] after normalising")
    }

    @Test("with centring, a component every archive item shares no longer decides the ranking")
    func centring() {
        // Every item = a large shared offset along axis 7 + its class axis (0 or 1) + noise.
        var random = RandomSource(seed: 11)
        func item(_ axis: Int) -> [Float] {
            var v = point(axis, noise: 0.05, random: &random)
            v[7] += 3
            return v
        }
        let archive = (0..<40).map { item($0 % 2) }
        let statistics = ArchiveStatistics(vectors: archive.flatMap { $0 }, dimensions: 8)
        let query = item(0)
        let plain = RelevanceFeedback.fit(positives: [query], negatives: [], learner: .rocchio)
        let centred = RelevanceFeedback.fit(
            positives: [query], negatives: [], learner: .rocchio, statistics: statistics)
        let sameClass = item(0), otherClass = item(1)
        let plainGap = cosine(plain.direction, sameClass) - cosine(plain.direction, otherClass)
        let centredGap = cosine(centred.direction, sameClass) - cosine(centred.direction, otherClass)
        #expect(centredGap > 3 * plainGap, "gaps \(plainGap) / \(centredGap)")
    }
}
