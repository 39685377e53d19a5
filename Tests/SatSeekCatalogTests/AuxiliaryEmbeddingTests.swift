import Foundation
@testable import SatSeekCatalog
import Testing

@Suite("Auxiliary embeddings")
struct AuxiliaryEmbeddingTests {
    @Test(
        "auxiliary kinds are stored beside the primary embedding and dropped when an image is re-embedded without them")
    func auxiliaryLifecycle() throws {
        let (catalog, folder) = try CatalogDataTests.makeCatalog()
        defer { folder.cleanup() }
        let ids = try catalog.upsert([
            CatalogItem(
                record: makeRecord("/d/a/1.tif"), embedding: [1, 0, 0, 0],
                auxiliary: ["sketch": [0.5, 0.5], "head:x": [1, -1, 1]]),
            CatalogItem(record: makeRecord("/d/a/2.tif"), embedding: [0, 1, 0, 0], auxiliary: ["sketch": [0.25, 0.75]])
        ])
        #expect(try catalog.auxiliaryKinds(id: ids[0]) == ["sketch", "head:x"])
        #expect(try catalog.embedding(id: ids[0], kind: "head:x") == [1, -1, 1])
        let sketches = try catalog.embeddings(kind: "sketch")
        #expect(sketches.ids == ids && sketches.dimensions == 2 && sketches.vectors == [0.5, 0.5, 0.25, 0.75])
        // The primary view is unaffected by auxiliary rows.
        let primary = try catalog.embeddings()
        #expect(primary.ids == ids && primary.dimensions == 4)
        #expect(try catalog.embeddings(kind: "missing").ids.isEmpty)

        // Re-embedding image 1 without the head kind drops its stale head vector, keeps the sketch.
        _ = try catalog.upsert([
            CatalogItem(
                record: makeRecord("/d/a/1.tif", hash: "new"), embedding: [0, 0, 1, 0],
                auxiliary: ["sketch": [1, 0]])
        ])
        #expect(try catalog.auxiliaryKinds(id: ids[0]) == ["sketch"])
        #expect(try catalog.embedding(id: ids[0], kind: "head:x") == nil)
        #expect(try catalog.embedding(id: ids[0], kind: "sketch") == [1, 0])

        // The plain upsert drops all auxiliaries of the image it rewrites.
        _ = try catalog.upsert([(record: makeRecord("/d/a/2.tif", hash: "newer"), embedding: [0, 0, 0, 1])])
        #expect(try catalog.auxiliaryKinds(id: ids[1]).isEmpty)
    }

    @Test("a non-finite auxiliary vector rejects the whole batch")
    func invalidAuxiliary() throws {
        let (catalog, folder) = try CatalogDataTests.makeCatalog()
        defer { folder.cleanup() }
        #expect(throws: CatalogError.self) {
            try catalog.upsert([
                CatalogItem(record: makeRecord("/d/b/ok.tif"), embedding: [1, 0, 0, 0]),
                CatalogItem(record: makeRecord("/d/b/bad.tif"), embedding: [1, 0, 0, 0], auxiliary: ["sketch": [.nan]])
            ])
        }
        #expect(try catalog.count() == 0)
    }
}
