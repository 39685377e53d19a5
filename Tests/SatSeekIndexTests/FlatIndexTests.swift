@testable import SatSeekIndex
import Testing
import SatSeekRandom

@Suite("FlatIndex")
struct FlatIndexTests {
    static let dims = 24
    static let rows = 300

    static func makeIndex(_ metric: Metric, rows: Int = rows, seed: UInt64 = 42) -> (FlatIndex, [Float], [Int64]) {
        let matrix = randomMatrix(rows: rows, dims: dims, seed: seed)
        // Non-contiguous, unsorted ids so id handling is exercised.
        let ids = (0..<rows).map { Int64(($0 * 7919) % 100_003) + 10 }
        return (FlatIndex(dimensions: dims, metric: metric, ids: ids, vectors: matrix), matrix, ids)
    }

    @Test("single search matches naive brute force", arguments: [Metric.cosine, .innerProduct, .l2])
    func matchesNaive(metric: Metric) {
        let (index, matrix, ids) = Self.makeIndex(metric)
        let queries = randomMatrix(rows: 8, dims: Self.dims, seed: 7)
        for q in 0..<8 {
            let query = Array(queries[(q * Self.dims)..<((q + 1) * Self.dims)])
            let hits = index.search(query, k: 10, excluding: [])
            let reference = naiveSearch(
                matrix: matrix, ids: ids, dims: Self.dims, metric: metric,
                query: query, k: 10)
            expectEquivalent(hits, reference)
            // Every reported score is the true score of the reported id.
            let all = naiveSearch(
                matrix: matrix, ids: ids, dims: Self.dims, metric: metric,
                query: query, k: ids.count)
            let truth = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0.score) })
            for hit in hits {
                #expect(abs(hit.score - truth[hit.id]!) <= 1e-4)
            }
            // Sorted best first.
            #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
    }

    @Test("k edge cases")
    func kEdgeCases() {
        let (index, _, _) = Self.makeIndex(.cosine, rows: 5)
        let query = randomMatrix(rows: 1, dims: Self.dims, seed: 3)
        #expect(index.search(query, k: 0).isEmpty)
        #expect(index.search(query, k: -3).isEmpty)
        #expect(index.search(query, k: 1).count == 1)
        #expect(index.search(query, k: 5).count == 5)
        #expect(index.search(query, k: 6).count == 5)
        #expect(index.search(query, k: Int.max).count == 5)
        #expect(index.search(query, k: 5) == index.search(query, k: 1000))
        #expect(index.search(batch: query, k: Int.max)[0].count == 5)
        #expect(index.search(batch: query, k: 0) == [[]])
    }

    @Test("empty index returns no hits", arguments: [Metric.cosine, .innerProduct, .l2])
    func emptyIndex(metric: Metric) {
        var index = FlatIndex(dimensions: 4, metric: metric)
        #expect(index.count == 0)
        #expect(index.search([1, 2, 3, 4], k: 5).isEmpty)
        #expect(index.search(batch: [1, 2, 3, 4, 5, 6, 7, 8], k: 5) == [[], []])
        #expect(index.search(batch: [], k: 5).isEmpty)
        index.add(ids: [], vectors: [])
        #expect(index.count == 0)
    }

    @Test("excluding skips ids, including the query itself")
    func excluding() {
        let (index, matrix, ids) = Self.makeIndex(.cosine)
        let row = 17
        let query = Array(matrix[(row * Self.dims)..<((row + 1) * Self.dims)])
        let plain = index.search(query, k: 5)
        #expect(plain.first?.id == ids[row])
        #expect(abs(plain[0].score - 1) < 1e-5)

        let loo = index.search(query, k: 5, excluding: [ids[row]])
        #expect(!loo.contains { $0.id == ids[row] })
        #expect(Array(plain.dropFirst()) == Array(loo.prefix(4)))

        let everything = index.search(query, k: 10, excluding: Set(ids))
        #expect(everything.isEmpty)
        let allButTwo = index.search(query, k: 10, excluding: Set(ids.dropFirst(2)))
        #expect(Set(allButTwo.map(\.id)) == Set(ids.prefix(2)))
    }

    @Test("batch equals single search", arguments: [Metric.cosine, .innerProduct, .l2])
    func batchEqualsSingle(metric: Metric) {
        // 2000 × 20 rows crosses the parallel threshold.
        let (index, _, _) = Self.makeIndex(metric, rows: 2000, seed: 99)
        let queryCount = 20
        let queries = randomMatrix(rows: queryCount, dims: Self.dims, seed: 5)
        let batch = index.search(batch: queries, k: 15)
        // Tiny blocks force several sgemm calls.
        let blocked = index.batchSearch(queries, k: 15, excluding: nil, blockFloats: 3 * 2000)
        #expect(batch.count == queryCount)
        for q in 0..<queryCount {
            let single = index.search(Array(queries[(q * Self.dims)..<((q + 1) * Self.dims)]), k: 15)
            expectEquivalent(batch[q], single, tolerance: 1e-5)
            expectEquivalent(blocked[q], batch[q], tolerance: 1e-5)
        }
    }

    @Test("batch leave-one-out excludes each query's own id")
    func batchLeaveOneOut() {
        let (index, matrix, ids) = Self.makeIndex(.l2, rows: 50)
        let results = index.search(batch: matrix, k: 3, excluding: ids.map { [$0] })
        for (row, hits) in results.enumerated() {
            #expect(hits.count == 3)
            #expect(!hits.contains { $0.id == ids[row] })
            let single = index.search(
                Array(matrix[(row * Self.dims)..<((row + 1) * Self.dims)]),
                k: 3, excluding: [ids[row]])
            expectEquivalent(hits, single, tolerance: 1e-5)
        }
    }

    @Test("l2 scores are negative squared distances")
    func l2Scores() {
        let index = FlatIndex(dimensions: 2, metric: .l2, ids: [1, 2, 3], vectors: [0, 0, 3, 4, 1, 1])
        let hits = index.search([0, 0], k: 3)
        #expect(hits == [SearchHit(id: 1, score: 0), SearchHit(id: 3, score: -2), SearchHit(id: 2, score: -25)])
        let far = index.search([3, 4], k: 1)
        #expect(far == [SearchHit(id: 2, score: 0)])
    }

    @Test("ties are broken by the smaller id")
    func ties() {
        // Identical rows under every metric; exact integer arithmetic.
        for metric in [Metric.cosine, .innerProduct, .l2] {
            let index = FlatIndex(
                dimensions: 2, metric: metric,
                ids: [9, 5, 3, 7, 1], vectors: [1, 0, 1, 0, 1, 0, 0, 1, 1, 0])
            let hits = index.search([1, 0], k: 3)
            #expect(hits.map(\.id) == [1, 3, 5], "metric \(metric)")
            #expect(index.search(batch: [1, 0], k: 3)[0].map(\.id) == [1, 3, 5])
        }
    }

    @Test("cosine normalises stored vectors and queries; zero vectors are harmless")
    func cosineNormalisation() {
        var index = FlatIndex(dimensions: 3)
        index.add(ids: [1, 2], vectors: [10, 0, 0, 0, 0, 0])
        index.add(ids: [3], vectors: [0, 0.5, 0])
        let hits = index.search([3, 0, 0], k: 3)
        #expect(hits == [SearchHit(id: 1, score: 1), SearchHit(id: 2, score: 0), SearchHit(id: 3, score: 0)])
        let zeroQuery = index.search([0, 0, 0], k: 3)
        #expect(zeroQuery.allSatisfy { $0.score == 0 })
        #expect(index.count == 3)
        #expect(index.ids == [1, 2, 3])
    }

    @Test("incremental adds equal one bulk add")
    func incrementalAdd() {
        let matrix = randomMatrix(rows: 40, dims: 8, seed: 11)
        let ids = (0..<40).map(Int64.init)
        let bulk = FlatIndex(dimensions: 8, metric: .l2, ids: ids, vectors: matrix)
        var pieces = FlatIndex(dimensions: 8, metric: .l2)
        pieces.add(ids: Array(ids[0..<15]), vectors: Array(matrix[0..<(15 * 8)]))
        pieces.add(ids: Array(ids[15...]), vectors: Array(matrix[(15 * 8)...]))
        let query = randomMatrix(rows: 1, dims: 8, seed: 12)
        #expect(bulk.search(query, k: 10) == pieces.search(query, k: 10))
    }
}

@Suite("Top-k selection")
struct TopKTests {
    @Test("heap selection equals a full sort, with duplicates and NaN")
    func selectionMatchesSort() {
        var rng = SplitMix64(seed: 2024)
        for trial in 0..<50 {
            let n = Int.random(in: 1...400, using: &rng)
            // Few distinct values -> many ties.
            var scores = (0..<n).map { _ in Float(Int.random(in: -5...5, using: &rng)) }
            if trial % 5 == 0 { scores[0] = .nan }
            let ids = (0..<n).map { _ in Int64.random(in: 0..<1_000_000, using: &rng) }
            let k = Int.random(in: 1...(n + 3), using: &rng)
            let hits = scores.withUnsafeBufferPointer { s in
                ids.withUnsafeBufferPointer { selectTopK(scores: s, ids: $0, k: k, excluding: []) }
            }
            let expected = zip(ids, scores)
                .map { SearchHit(id: $0, score: $1.isNaN ? -.infinity : $1) }
                .sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                .prefix(k)
            #expect(hits == Array(expected))
        }
    }
}
