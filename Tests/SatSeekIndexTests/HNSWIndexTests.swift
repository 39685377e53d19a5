@testable import SatSeekIndex
import Testing

@Suite("HNSWIndex")
struct HNSWIndexTests {
    static let dims = 64
    static let rows = 5_000
    /// Database rows followed by 100 query rows drawn around the same centres.
    static let all = clusteredMatrix(rows: rows + 100, dims: dims, clusters: 50, spread: 0.5, seed: 1234)
    static let data = Array(all.prefix(rows * dims))
    static let ids = (0..<rows).map { Int64($0 * 2 + 5) }
    static let queries = Array(all.suffix(100 * dims))

    static func meanRecall(_ index: HNSWIndex, exact: FlatIndex, k: Int = 10, efSearch: Int? = nil) -> Double {
        var total = 0.0
        for q in 0..<100 {
            let query = row(queries, q, dims)
            total += recall(index.search(query, k: k, efSearch: efSearch), exact.search(query, k: k))
        }
        return total / 100
    }

    @Test(
        "recall@10 ≥ 0.95 on 5 000 × 64 clustered vectors",
        arguments: [
            (Metric.cosine, VectorStorage.float32), (.l2, .float32), (.innerProduct, .float32), (.cosine, .float16)
        ])
    func recallAgainstExact(metric: Metric, storage: VectorStorage) {
        let index = HNSWIndex(
            dimensions: Self.dims, metric: metric, storage: storage,
            parameters: .init(M: 16, efConstruction: 100, efSearch: 64), ids: Self.ids, vectors: Self.data)
        let exact = FlatIndex(dimensions: Self.dims, metric: metric, ids: Self.ids, vectors: Self.data)
        #expect(Self.meanRecall(index, exact: exact) >= 0.95)
        // Batch equals single.
        let batch = index.search(batch: Array(Self.queries.prefix(5 * Self.dims)), k: 10)
        for q in 0..<5 { #expect(batch[q] == index.search(row(Self.queries, q, Self.dims), k: 10)) }
    }

    @Test("deterministic given the seed; incremental adds")
    func deterministic() {
        let params = HNSWIndex.Parameters(M: 8, efConstruction: 40, efSearch: 32, seed: 99)
        let a = HNSWIndex(
            dimensions: Self.dims, parameters: params, ids: Array(Self.ids.prefix(1_500)),
            vectors: Array(Self.data.prefix(1_500 * Self.dims)))
        var b = HNSWIndex(dimensions: Self.dims, parameters: params)
        b.add(ids: Array(Self.ids.prefix(700)), vectors: Array(Self.data.prefix(700 * Self.dims)))
        b.add(ids: Array(Self.ids[700..<1_500]), vectors: Array(Self.data[(700 * Self.dims)..<(1_500 * Self.dims)]))
        #expect(a.level0 == b.level0)
        #expect(a.upper == b.upper)
        #expect(a.levels == b.levels)
        let query = row(Self.queries, 0, Self.dims)
        #expect(a.search(query, k: 10) == b.search(query, k: 10))
        let c = HNSWIndex(
            dimensions: Self.dims, parameters: .init(M: 8, efConstruction: 40, efSearch: 32, seed: 100),
            ids: Array(Self.ids.prefix(1_500)), vectors: Array(Self.data.prefix(1_500 * Self.dims)))
        #expect(c.levels != a.levels)
    }

    @Test("tombstones are never returned; rebuild compacts")
    func tombstones() {
        var index = HNSWIndex(
            dimensions: Self.dims, parameters: .init(M: 12, efConstruction: 80, efSearch: 64),
            ids: Array(Self.ids.prefix(2_000)), vectors: Array(Self.data.prefix(2_000 * Self.dims)))
        let query = row(Self.data, 17, Self.dims)
        let before = index.search(query, k: 10)
        #expect(before.first?.id == Self.ids[17])
        let removed = Set(before.prefix(5).map(\.id))
        for id in removed {
            let deleted = index.delete(id: id)
            #expect(deleted)
        }
        let again = index.delete(id: before[0].id)
        #expect(!again)
        #expect(index.liveCount == 1_995)
        let after = index.search(query, k: 10)
        #expect(after.count == 10)
        #expect(after.allSatisfy { !removed.contains($0.id) })
        index.rebuild()
        #expect(index.count == 1_995)
        #expect(index.deletedCount == 0)
        let rebuilt = index.search(query, k: 10)
        #expect(rebuilt.allSatisfy { !removed.contains($0.id) })
        var exact = FlatIndex(dimensions: Self.dims, metric: .cosine)
        for (i, id) in Self.ids.prefix(2_000).enumerated() where !removed.contains(id) {
            exact.add(ids: [id], vectors: row(Self.data, i, Self.dims))
        }
        #expect(recall(rebuilt, exact.search(query, k: 10)) >= 0.9)
    }

    @Test("allowed-id filter returns k allowed hits", arguments: [0.005, 0.05, 0.5])
    func allowedFilter(fraction: Double) {
        let index = HNSWIndex(
            dimensions: Self.dims, parameters: .init(M: 16, efConstruction: 100, efSearch: 64),
            ids: Self.ids, vectors: Self.data)
        let exact = FlatIndex(dimensions: Self.dims, metric: .cosine, ids: Self.ids, vectors: Self.data)
        let step = Int(1 / fraction)
        let allowed = Set(Self.ids.enumerated().filter { $0.offset % step == 3 }.map(\.element))
        var total = 0.0
        for q in 0..<20 {
            let query = row(Self.queries, q, Self.dims)
            let hits = index.search(query, k: 10, allowed: allowed)
            #expect(hits.count == min(10, allowed.count))
            #expect(hits.allSatisfy { allowed.contains($0.id) })
            total += recall(hits, exact.search(query, k: 10, allowed: allowed))
        }
        #expect(total / 20 >= 0.9)
    }

    @Test("persistence round trip", arguments: [VectorStorage.float32, .float16])
    func persistence(storage: VectorStorage) throws {
        var index = HNSWIndex(
            dimensions: Self.dims, metric: .l2, storage: storage,
            parameters: .init(M: 8, efConstruction: 50, efSearch: 40),
            ids: Array(Self.ids.prefix(1_000)), vectors: Array(Self.data.prefix(1_000 * Self.dims)))
        index.delete(id: Self.ids[3])
        let path = temporaryFolder() + "/graph.ssidx"
        try index.write(to: path, modelID: "effnet-lite0")
        var opened = try HNSWIndex.open(path, expectedModelID: "effnet-lite0")
        #expect(opened.count == 1_000)
        #expect(opened.deletedCount == 1)
        #expect(opened.parameters == index.parameters)
        for q in 0..<10 {
            let query = row(Self.queries, q, Self.dims)
            #expect(opened.search(query, k: 10) == index.search(query, k: 10))
        }
        // Adding after a reload continues the same seeded stream.
        let extra = Array(Self.data[(1_000 * Self.dims)..<(1_100 * Self.dims)])
        index.add(ids: Array(Self.ids[1_000..<1_100]), vectors: extra)
        opened.add(ids: Array(Self.ids[1_000..<1_100]), vectors: extra)
        #expect(opened.level0 == index.level0)
        #expect(throws: IndexFileError.wrongModel(path: path, expected: "other", found: "effnet-lite0")) {
            try HNSWIndex.open(path, expectedModelID: "other")
        }
    }
}
