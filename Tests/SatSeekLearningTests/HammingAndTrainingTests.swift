import Testing
import SatSeekIndex
@testable import SatSeekLearning

@Suite("binary codes, Hamming search and training")
struct HammingAndTrainingTests {
    @Test("codes pack the sign of each activation", arguments: [8, 64, 80])
    func packing(_ bits: Int) {
        var activations = [Float](repeating: -0.5, count: bits)
        activations[0] = 0.9
        activations[bits - 1] = 0.1
        let codes = BinaryCodes(signsOf: activations, bits: bits)
        #expect(codes.count == 1 && codes.wordsPerCode == (bits + 63) / 64)
        #expect(codes.words[0] & 1 == 1)
        #expect(codes.words[(bits - 1) / 64] >> UInt64((bits - 1) % 64) & 1 == 1)
        #expect(codes.words.reduce(0) { $0 + $1.nonzeroBitCount } == 2)
    }

    @Test("exhaustive Hamming top-k equals a brute-force sort", arguments: [16, 32, 80])
    func hammingMatchesBruteForce(_ bits: Int) {
        let n = 300
        var random = RandomSource(seed: UInt64(bits))
        let activations = (0..<(n * bits)).map { _ in random.nextUnit() * 2 - 1 }
        let ids = (0..<n).map { Int64(1000 - 3 * $0) }  // descending ids: ties must still go to the smaller id
        let index = HammingIndex(ids: ids, activations: activations, bits: bits, keepFloats: true)
        let codes = BinaryCodes(signsOf: activations, bits: bits)
        for q in [0, 17, 299] {
            let query = Array(activations[(q * bits)..<((q + 1) * bits)])
            let excluded: Set<Int64> = [ids[q]]
            var expected: [(id: Int64, d: Int)] = []
            for i in 0..<n where i != q {
                expected.append((ids[i], BinaryCodes.hammingDistance(codes.code(q), codes.code(i))))
            }
            expected.sort { (a: (id: Int64, d: Int), b: (id: Int64, d: Int)) -> Bool in
                a.d != b.d ? a.d < b.d : a.id < b.id
            }
            let top = Array(expected.prefix(25))
            let hits = index.search(activations: query, k: 25, excluding: excluded)
            let expectedIDs: [Int64] = top.map { $0.id }
            let expectedScores: [Float] = top.map { 1 - Float($0.d) / Float(bits) }
            #expect(hits.map(\.id) == expectedIDs)
            #expect(hits.map(\.score) == expectedScores)
            #expect(index.search(batch: query, k: 25, excluding: [excluded])[0] == hits)

            // Re-ranking: the 60 Hamming-nearest, ordered by cosine of the float activations.
            let candidates = index.search(activations: query, k: 60, excluding: excluded).map(\.id)
            let flat = FlatIndex(dimensions: bits, metric: .cosine, ids: ids, vectors: activations)
            let cosine = flat.search(query, k: n, excluding: excluded).filter { candidates.contains($0.id) }
            let reranked = index.search(activations: query, k: 10, excluding: excluded, rerankDepth: 60)
            #expect(reranked.map(\.id) == cosine.prefix(10).map(\.id))
        }
        #expect(index.search(activations: Array(activations[0..<bits]), k: 1000).count == n)
    }

    @Test("the sampler draws P classes × K distinct images")
    func sampler() throws {
        let labels = (0..<50).map { $0 % 5 } + [9]  // class 9 has a single image and is never drawn
        var sampler = try ClassBalancedSampler(
            labels: labels, classesPerBatch: 3, imagesPerClass: 4,
            random: RandomSource(seed: 1))
        for _ in 0..<20 {
            let batch = sampler.nextBatch()
            #expect(batch.count == 12 && Set(batch).count == 12)
            let classes = batch.map { labels[$0] }
            #expect(Set(classes).count == 3 && !classes.contains(9))
        }
        #expect(throws: LearningError.self) {
            try ClassBalancedSampler(
                labels: [0, 0, 1], classesPerBatch: 2, imagesPerClass: 2, random: RandomSource(seed: 1))
        }
    }

    func configuration(seed: UInt64) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.hiddenSizes = [32, 16]
        c.bits = 16
        c.epochs = 4
        c.classesPerBatch = 4
        c.imagesPerClass = 4
        c.seed = seed
        return c
    }

    @Test("training is deterministic under a seed")
    func deterministic() throws {
        let data = clusteredData(classes: 5, perClass: 12, dimensions: 24, seed: 5)
        let a = try Trainer.train(
            features: data.features, labels: data.labels, dimensions: 24, configuration: configuration(seed: 7))
        let b = try Trainer.train(
            features: data.features, labels: data.labels, dimensions: 24, configuration: configuration(seed: 7))
        let c = try Trainer.train(
            features: data.features, labels: data.labels, dimensions: 24, configuration: configuration(seed: 8))
        #expect(a.history.map(\.terms) == b.history.map(\.terms))
        #expect(a.head == b.head)
        #expect(a.head != c.head)
        #expect(a.history.count == 4 && a.history.allSatisfy { $0.terms.total.isFinite })
    }

    @Test("training lowers the objective on clustered data")
    func lowersLoss() throws {
        let data = clusteredData(classes: 6, perClass: 15, dimensions: 32, seed: 6)
        var c = configuration(seed: 3)
        c.learningRate = 1e-2  // 90 examples give only 6 batches per epoch
        c.epochs = 0
        let untrained = try Trainer.train(
            features: data.features, labels: data.labels, dimensions: 32, configuration: c
        ).head
        c.epochs = 30
        let trained = try Trainer.train(features: data.features, labels: data.labels, dimensions: 32, configuration: c)
            .head
        // The objective over the whole dataset as one batch, before and after.
        func objective(_ head: MLPHead) -> ObjectiveTerms {
            let h = head.forwardTrace(Matrix(rows: data.labels.count, columns: 32, values: data.features)).output
            return c.objective.evaluate(h, labels: data.labels).terms
        }
        let before = objective(untrained), after = objective(trained)
        #expect(after.total < before.total * 0.7, "\(before) → \(after)")
        #expect(after.push < before.push, "codes move towards ±1: \(before.push) → \(after.push)")
    }
}
