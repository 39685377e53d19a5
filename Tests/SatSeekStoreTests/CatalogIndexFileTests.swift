import Foundation
import Testing
import SatSeekCatalog
import SatSeekIndex
import SatSeekStore
import SatSeekRandom

/// A catalog in a fresh folder holding `count` clustered random vectors of `dimensions` (seeded).
private func makeCatalog(
    count: Int, dimensions: Int = 16, model: String = "toy-model", seed: UInt64 = 1
)
    throws -> (catalog: Catalog, folder: URL)
{
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let catalog = try Catalog(path: folder.appendingPathComponent("c.satseek").path, create: true)
    try catalog.bind(ModelBinding(modelID: model, dimensions: dimensions))
    try add(count: count, to: catalog, first: 0, seed: seed)
    return (catalog, folder)
}

private func add(count: Int, to catalog: Catalog, first: Int, seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let dims = try #require(try catalog.binding()).dimensions
    let items = (first..<(first + count)).map { i in
        (
            record: ImageRecord(
                path: "/tiles/class\(i % 5)/tile\(i).png", className: "class\(i % 5)", width: 64,
                height: 64, byteSize: 100, modifiedAt: 0, contentHash: "h\(i)", modelID: ""),
            embedding: (0..<dims).map { d in Float(d % 5 == i % 5 ? 1 : 0) + rng.unitFloat() * 0.5 }
        )
    }
    try catalog.upsert(items)
}

private func queries(_ catalog: Catalog, count: Int) throws -> [[Float]] {
    try (1...count).map { try #require(try catalog.embedding(id: Int64($0))) }
}

@Suite("Index files beside a catalog")
struct CatalogIndexFileTests {
    @Test("the exact file is written once, then used as is; any catalog change makes it stale and rewritten")
    func flatLifecycle() throws {
        let (catalog, folder) = try makeCatalog(count: 60)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = CatalogIndexFile.path(forCatalog: catalog.path, kind: .flat)

        let first = try CatalogIndexFile.refreshFlat(catalog: catalog)
        #expect(first.action == "written" && first.vectors == 60 && first.reason == "no index file yet")
        #expect(first.revision == (try catalog.embeddingRevision()))
        #expect(try IndexFileHeader.read(path: path, kind: .flat).sourceRevision == first.revision)
        let second = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(second.outcome.action == "current" && second.outcome.reason == nil)
        let exact = FlatIndex(
            dimensions: 16, metric: .cosine, ids: try catalog.embeddings().ids,
            vectors: try catalog.embeddings().vectors)
        for q in try queries(catalog, count: 5) {
            #expect(second.index.search(q, k: 10) == exact.search(q, k: 10))
        }

        try add(count: 5, to: catalog, first: 60, seed: 2)
        let afterAdd = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(afterAdd.outcome.action == "written" && afterAdd.index.count == 65)
        #expect(afterAdd.outcome.reason?.contains("catalog changed") == true)

        // A replaced embedding keeps the count but changes the revision.
        try add(count: 1, to: catalog, first: 3, seed: 9)
        #expect(try CatalogIndexFile.refreshFlat(catalog: catalog).action == "written")
        // Removing an image (embedding deleted by cascade) too.
        try catalog.remove(ids: [7])
        let afterRemove = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(afterRemove.outcome.action == "written" && afterRemove.index.count == 64)
        #expect(afterRemove.index.search(try queries(catalog, count: 1)[0], k: 64).allSatisfy { $0.id != 7 })
        #expect(try CatalogIndexFile.refreshFlat(catalog: catalog).action == "current")
    }

    @Test("a damaged, truncated or foreign-model file is rebuilt from the catalog with the reason")
    func damagedFiles() throws {
        let (catalog, folder) = try makeCatalog(count: 40)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = CatalogIndexFile.path(forCatalog: catalog.path, kind: .flat)
        try CatalogIndexFile.refreshFlat(catalog: catalog)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        var flipped = good
        flipped[flipped.count - 100] ^= 0x5A
        try flipped.write(to: URL(fileURLWithPath: path))
        let repaired = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(repaired.outcome.action == "written")
        #expect(repaired.outcome.reason?.contains("checksum") == true, "\(repaired.outcome.reason ?? "")")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good, "the rewrite is byte-identical")

        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path))
        let untruncated = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(untruncated.outcome.action == "written" && untruncated.index.count == 40)
        #expect(untruncated.outcome.reason?.contains("truncated") == true, "\(untruncated.outcome.reason ?? "")")

        let (other, otherFolder) = try makeCatalog(count: 40, model: "other-model")
        defer { try? FileManager.default.removeItem(at: otherFolder) }
        try CatalogIndexFile.refreshFlat(catalog: other)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(
            atPath: CatalogIndexFile.path(forCatalog: other.path, kind: .flat), toPath: path)
        let rebuilt = try CatalogIndexFile.loadFlat(catalog: catalog)
        #expect(rebuilt.outcome.reason?.contains("other-model") == true)
        #expect(try FlatIndex.modelID(ofFile: path) == "toy-model")
    }

    @Test("the HNSW file is written, reused while current, agrees with exact search, and follows removals")
    func hnswLifecycle() throws {
        let (catalog, folder) = try makeCatalog(count: 300, dimensions: 24)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try !CatalogIndexFile.hasCurrentHNSW(catalog: catalog))
        var reported: [(Int, Int)] = []
        let built = try CatalogIndexFile.refreshHNSW(catalog: catalog) { reported.append(($0, $1)) }
        #expect(built.action == "written" && built.vectors == 300)
        #expect(reported.last.map { $0 == (300, 300) } == true)
        #expect(try CatalogIndexFile.hasCurrentHNSW(catalog: catalog))
        let loaded = try CatalogIndexFile.loadHNSW(catalog: catalog)
        #expect(loaded.outcome.action == "current")
        let exact = try CatalogIndexFile.loadFlat(catalog: catalog).index
        var agree = 0, total = 0
        for q in try queries(catalog, count: 20) {
            let want = Set(exact.search(q, k: 10).map(\.id))
            agree += loaded.index.search(q, k: 10).filter { want.contains($0.id) }.count
            total += 10
        }
        #expect(Double(agree) / Double(total) >= 0.95, "recall@10 \(Double(agree) / Double(total))")

        #expect(CatalogIndexFile.openCurrentHNSW(catalog: catalog)?.count == 300)
        // A damaged graph file is not used (searches go exact) and not rebuilt by opening.
        let hnswPath = CatalogIndexFile.path(forCatalog: catalog.path, kind: .hnsw)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: hnswPath))
        bytes[bytes.count - 10] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: hnswPath))
        #expect(CatalogIndexFile.openCurrentHNSW(catalog: catalog) == nil)
        #expect(try CatalogIndexFile.refreshHNSW(catalog: catalog).reason?.contains("checksum") == true)

        try catalog.remove(ids: [1, 2, 3])
        #expect(try !CatalogIndexFile.hasCurrentHNSW(catalog: catalog))
        #expect(CatalogIndexFile.openCurrentHNSW(catalog: catalog) == nil)
        // The file is behind its own catalog: edited (3 tombstones), not rebuilt.
        let after = try CatalogIndexFile.loadHNSW(catalog: catalog)
        #expect(after.outcome.action == "updated" && after.index.liveCount == 297, "\(after.outcome)")
        #expect(
            after.outcome.reason?.contains("0 added, 0 changed, 3 removed in the existing graph") == true,
            "\(after.outcome.reason ?? "")")
        #expect(try CatalogIndexFile.loadHNSW(catalog: catalog).outcome.action == "current")
        #expect(CatalogIndexFile.openCurrentHNSW(catalog: catalog)?.liveCount == 297)
        // New rows are inserted into the saved graph, and each is found by its own vector.
        try add(count: 6, to: catalog, first: 300, seed: 9)
        let grown = try CatalogIndexFile.loadHNSW(catalog: catalog)
        #expect(grown.outcome.action == "updated" && grown.index.liveCount == 303)
        #expect(grown.outcome.reason?.contains("6 added") == true, "\(grown.outcome.reason ?? "")")
        let stored = try catalog.embeddings()
        let dims = stored.dimensions
        for (row, id) in stored.ids.enumerated() where id > 300 {
            let vector = Array(stored.vectors[(row * dims)..<((row + 1) * dims)])
            #expect(grown.index.search(vector, k: 1).first?.id == id)
        }
        let removed: Set<Int64> = [1, 2, 3]
        for row in 0..<10 {
            let q = Array(stored.vectors[(row * dims)..<((row + 1) * dims)])
            #expect(!grown.index.search(q, k: 20).contains { removed.contains($0.id) })
        }
    }
}

/// The embedded store behind every query: filters, range search ("find all") and refused queries.
@Suite struct EmbeddedStoreTests {
    @Test("a query of the wrong length or with NaN is a thrown error, never a read past the vectors")
    func wrongDimension() async throws {
        let (catalog, folder) = try makeCatalog(count: 20)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try EmbeddedStore(catalog: catalog)
        for bad in [
            [Float](repeating: 1, count: 15), [Float](repeating: 1, count: 4096), [],
            [Float](repeating: .nan, count: 16)
        ] {
            await #expect(throws: StoreError.self) {
                try await store.search(vector: bad, k: 5, exact: true, filter: .none)
            }
            await #expect(throws: StoreError.self) {
                try await store.search(vector: bad, minimumScore: 0, filter: .none, offset: 0, limit: 10)
            }
        }
    }

    @Test("find all returns exactly the items at or above the threshold, paged, with filters")
    func rangeSearch() async throws {
        let (catalog, folder) = try makeCatalog(count: 60)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try EmbeddedStore(catalog: catalog)
        let stored = try catalog.embeddings()
        let query = Array(stored.vectors[0..<16])
        let everything = try await store.search(vector: query, k: 60, exact: true, filter: .none)
        let threshold = everything[14].score
        let page = try await store.search(vector: query, minimumScore: threshold, filter: .none, offset: 0, limit: 1000)
        #expect(page.total == everything.filter { $0.score >= threshold }.count)
        #expect(page.hits.map(\.id) == Array(everything.prefix(page.total)).map(\.id))
        // Pages tile the whole result.
        let first = try await store.search(vector: query, minimumScore: threshold, filter: .none, offset: 0, limit: 4)
        let second = try await store.search(vector: query, minimumScore: threshold, filter: .none, offset: 4, limit: 4)
        #expect(
            first.total == page.total && (first.hits + second.hits).map(\.id) == Array(page.hits.prefix(8)).map(\.id))
        // Excluded and allowed ids.
        let excluded = Set(everything.prefix(3).map(\.id))
        let allowed = Set(everything.map(\.id).filter { $0 % 2 == 0 })
        let filtered = try await store.search(
            vector: query, minimumScore: -1,
            filter: SearchFilter(excluded: excluded, allowed: allowed), offset: 0, limit: 1000)
        #expect(filtered.hits.allSatisfy { allowed.contains($0.id) && !excluded.contains($0.id) })
        #expect(filtered.total == allowed.subtracting(excluded).count)
        let top = try await store.search(
            vector: query, k: 5, exact: true, filter: SearchFilter(excluded: excluded, allowed: allowed))
        #expect(top.map(\.id) == Array(filtered.hits.prefix(5)).map(\.id))
    }

    @Test("a current HNSW file answers approximate searches; a changed catalog swaps in the new vectors")
    func graphAndLiveSwap() async throws {
        let (catalog, folder) = try makeCatalog(count: 40)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try EmbeddedStore(catalog: catalog)
        #expect(try store.hasGraph() == false)
        try CatalogIndexFile.refreshAll(catalog: catalog, hnsw: .init())
        #expect(try store.hasGraph() == true, "the graph file written after the store opened is picked up")
        let query = try #require(try catalog.embedding(id: 1))
        let exact = try await store.search(vector: query, k: 5, exact: true, filter: .none)
        let approximate = try await store.search(vector: query, k: 5, exact: false, filter: .none)
        #expect(exact.map(\.id) == approximate.map(\.id))
        try add(count: 10, to: catalog, first: 40, seed: 9)
        #expect(try await store.count() == 50, "items indexed after the store opened are searched")
        #expect(try store.hasGraph() == false, "a stale graph is not used")
    }
}

/// An index file is bound to the catalog it was built from, not only to its revision and model.
@Suite struct CatalogIdentityTests {
    @Test("a new catalog at the same path never uses the old catalog's index files, even at the same revision")
    func fileFromAnotherCatalogIsRebuilt() throws {
        let (first, folder) = try makeCatalog(count: 30, seed: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = first.path
        try CatalogIndexFile.refreshAll(catalog: first, hnsw: .init())
        let firstRevision = try first.embeddingRevision()
        let firstIdentity = try first.identity()
        // Delete the catalog (not its index files) and index other vectors into a new one at the same path.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let second = try Catalog(path: path, create: true)
        try second.bind(ModelBinding(modelID: "toy-model", dimensions: 16))
        try add(count: 30, to: second, first: 0, seed: 99)
        #expect(try second.embeddingRevision() == firstRevision, "the trap: same revision number, same model")
        #expect(try second.identity() != firstIdentity)
        #expect(try CatalogIndexFile.hasCurrentHNSW(catalog: second) == false)
        let loaded = try CatalogIndexFile.loadFlat(catalog: second)
        #expect(
            loaded.outcome.action == "written" && loaded.outcome.reason == "built from another catalog at this path",
            "\(loaded.outcome)")
        // The rebuilt file holds the new vectors: an item finds itself at cosine 1.
        let vector = try #require(try second.embedding(id: 5))
        let hit = try #require(loaded.index.search(vector, k: 1).first)
        #expect(hit.id == 5 && hit.score > 0.9999)
        #expect(try CatalogIndexFile.loadFlat(catalog: second).outcome.action == "current")
    }
}
