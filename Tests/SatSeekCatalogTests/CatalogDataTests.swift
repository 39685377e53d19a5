import Foundation
@testable import SatSeekCatalog
import Testing

@Suite("Catalog records and embeddings")
struct CatalogDataTests {
    /// A catalog bound to a 4-d toy model in a fresh folder.
    static func makeCatalog() throws -> (Catalog, TempFolder) {
        let folder = try TempFolder()
        let catalog = try Catalog(path: folder.path("test.satseek"), create: true)
        try catalog.bind(ModelBinding(modelID: "toy-model", dimensions: 4))
        return (catalog, folder)
    }

    @Test("the embedding revision moves on every insert, replacement and (cascaded) removal, never on reads")
    func embeddingRevision() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let start = try catalog.embeddingRevision()
        let ids = try catalog.upsert([
            (makeRecord("/d/a/1.tif"), [1, 0, 0, 0]), (makeRecord("/d/a/2.tif"), [0, 1, 0, 0])
        ])
        let afterInsert = try catalog.embeddingRevision()
        #expect(afterInsert > start)
        _ = try catalog.embeddings()
        _ = try catalog.records(ids: ids)
        #expect(try catalog.embeddingRevision() == afterInsert)
        // Auxiliary embeddings (sketch, head, alignment vectors) do not touch the primary index files.
        try catalog.upsert([
            CatalogItem(record: makeRecord("/d/a/2.tif"), embedding: [0, 1, 0, 0], auxiliary: ["sketch": [1, 2]])
        ])
        #expect(try catalog.embeddingRevision() == afterInsert + 1, "only the re-written primary row counts")
        try catalog.upsert([(makeRecord("/d/a/1.tif", hash: "changed"), [0, 0, 1, 0])])
        let afterReplace = try catalog.embeddingRevision()
        #expect(afterReplace > afterInsert)
        try catalog.remove(ids: [ids[1]])
        let afterRemove = try catalog.embeddingRevision()
        #expect(afterRemove > afterReplace)
        let snapshot = try catalog.embeddingsWithRevision()
        #expect(snapshot.revision == afterRemove && snapshot.ids == [ids[0]])
        // Persisted: a reopened catalog reports the same revision.
        #expect(try Catalog(path: catalog.path, create: false).embeddingRevision() == afterRemove)
    }

    @Test("upserting the same path twice keeps one row and its id, replacing the embedding")
    func upsertIdempotence() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let first = try catalog.upsert([(makeRecord("/data/forest/f1.tif", hash: "aaaa"), [1, 2, 3, 4])])
        let second = try catalog.upsert([(makeRecord("/data/forest/f1.tif", hash: "bbbb", size: 99), [5, 6, 7, 8])])
        #expect(first == second)
        #expect(try catalog.count() == 1)
        #expect(try catalog.embedding(id: first[0]) == [5, 6, 7, 8])
        let record = try #require(try catalog.record(path: "/data/forest/f1.tif"))
        #expect(record.id == first[0])
        #expect(record.contentHash == "bbbb")
        #expect(record.byteSize == 99)
        #expect(record.className == "forest")
        // Another spelling of the same path hits the same row.
        let third = try catalog.upsert([(makeRecord("/data/./river/../forest/f1.tif"), [0, 0, 0, 1])])
        #expect(third == first)
        #expect(try catalog.count() == 1)
        #expect(try catalog.record(path: "/data/river/../forest/f1.tif")?.id == first[0])
        // Duplicates inside one batch collapse as well.
        let batch = try catalog.upsert([
            (makeRecord("/data/a/x.tif"), [1, 1, 1, 1]),
            (makeRecord("/data/a/x.tif"), [2, 2, 2, 2])
        ])
        #expect(batch[0] == batch[1])
        #expect(try catalog.embedding(id: batch[0]) == [2, 2, 2, 2])
        #expect(try catalog.count() == 2)
    }

    @Test("a failing item rolls back the whole batch")
    func atomicBatch() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let id = try catalog.upsert([(makeRecord("/d/c/keep.tif", hash: "old"), [1, 0, 0, 0])])[0]
        let bad: [(record: ImageRecord, embedding: [Float])] = [
            (makeRecord("/d/c/keep.tif", hash: "new"), [0, 1, 0, 0]),
            (makeRecord("/d/c/new.tif"), [0, 0, 1, 0]),
            (makeRecord("/d/c/short.tif"), [1, 2])
        ]
        let error = catalogError { try catalog.upsert(bad) }
        guard case let .invalidEmbedding(imagePath, reason)? = error else {
            Issue.record("expected invalidEmbedding, got \(String(describing: error))")
            return
        }
        #expect(imagePath == "/d/c/short.tif")
        #expect(reason.contains("expected 4"))
        #expect(try catalog.count() == 1)
        #expect(try catalog.record(id: id)?.contentHash == "old")
        #expect(try catalog.embedding(id: id) == [1, 0, 0, 0])
        #expect(try catalog.record(path: "/d/c/new.tif") == nil)

        let nanError = catalogError { try catalog.upsert([(makeRecord("/d/c/nan.tif"), [1, .nan, 0, 0])]) }
        guard case .invalidEmbedding? = nanError else {
            Issue.record("expected invalidEmbedding for NaN, got \(String(describing: nanError))")
            return
        }
    }

    @Test("upsert requires a binding and the bound model")
    func upsertModelChecks() throws {
        let folder = try TempFolder()
        defer { folder.cleanup() }
        let path = folder.path("unbound.satseek")
        let catalog = try Catalog(path: path, create: true)
        #expect(catalogError { try catalog.upsert([(makeRecord("/a/b/c.tif"), [1])]) } == .unbound(path: path))
        #expect(try catalog.embeddings().dimensions == 0)
        try catalog.bind(ModelBinding(modelID: "toy-model", dimensions: 1))
        let error = catalogError { try catalog.upsert([(makeRecord("/a/b/c.tif", model: "other"), [1])]) }
        #expect(error == .modelMismatch(path: path, indexModel: "toy-model", requested: "other"))
        // An empty model id is filled in with the bound one.
        let id = try catalog.upsert([(makeRecord("/a/b/c.tif", model: ""), [1])])[0]
        #expect(try catalog.record(id: id)?.modelID == "toy-model")
        let nothing: [(record: ImageRecord, embedding: [Float])] = []
        #expect(try catalog.upsert(nothing) == [])
    }

    @Test("embeddings come back as a row-major matrix ordered by id")
    func embeddingsMatrix() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let paths = [
            "/img/river/r1.tif", "/img/forest/f1.tif", "/img/river/r2.tif",
            "/img/beach/b1.tif", "/img/forest/f2.tif"
        ]
        var expected: [Int64: [Float]] = [:]
        for (i, path) in paths.enumerated() {  // several batches, out of path order
            let vector: [Float] = [Float(i), -Float(i), 0.5 * Float(i), 1e-7 * Float(i)]
            let id = try catalog.upsert([(makeRecord(path), vector)])[0]
            expected[id] = vector
        }
        // Re-upserting an early path must not move it in the id order.
        let firstID = try #require(try catalog.record(path: paths[0])?.id)
        try catalog.upsert([(makeRecord(paths[0]), [9, 9, 9, 9])])
        expected[firstID] = [9, 9, 9, 9]

        let (ids, vectors, dims) = try catalog.embeddings()
        #expect(dims == 4)
        #expect(ids == ids.sorted())
        #expect(ids.count == paths.count)
        #expect(vectors.count == ids.count * dims)
        for (row, id) in ids.enumerated() {
            #expect(Array(vectors[(row * dims)..<((row + 1) * dims)]) == expected[id])
            #expect(try catalog.embedding(id: id) == expected[id])
        }
        #expect(try catalog.embedding(id: 12345) == nil)
        #expect(try catalog.classNames() == ["river": 2, "forest": 2, "beach": 1])
        #expect(try catalog.allRecords().map(\.id) == ids.map { Optional($0) })
    }

    @Test("records(ids:) returns known ids only")
    func recordsByID() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let items = (0..<1200).map { i in
            (record: makeRecord("/bulk/c\(i % 3)/\(i).tif"), embedding: [Float](repeating: Float(i), count: 4))
        }
        let ids = try catalog.upsert(items)
        #expect(Set(ids).count == 1200)
        let wanted = Array(ids.prefix(700)) + [ids[3], 999_999]
        let found = try catalog.records(ids: wanted)
        #expect(found.count == 700)
        #expect(found[999_999] == nil)
        #expect(found[ids[5]]?.path == "/bulk/c2/5.tif")
        #expect(found[ids[5]]?.id == ids[5])
        #expect(try catalog.records(ids: []).isEmpty)
        #expect(try catalog.record(id: ids[0]) == found[ids[0]])
        #expect(try catalog.record(id: -1) == nil)
    }

    @Test("removal drops rows and their embeddings")
    func removal() throws {
        let (catalog, folder) = try Self.makeCatalog()
        defer { folder.cleanup() }
        let images = folder.url.appendingPathComponent("images/farm", isDirectory: true)
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let kept = images.appendingPathComponent("kept.png").path
        let gone = images.appendingPathComponent("gone.png").path
        for file in [kept, gone] { #expect(FileManager.default.createFile(atPath: file, contents: Data([1]))) }
        let ids = try catalog.upsert([
            (makeRecord(kept), [1, 0, 0, 0]), (makeRecord(gone), [0, 1, 0, 0]),
            (makeRecord("/elsewhere/x/y.png"), [0, 0, 1, 0])
        ])
        try FileManager.default.removeItem(atPath: gone)
        // Restricted to the images folder: the missing file outside it stays.
        #expect(try catalog.removeMissingFiles(under: folder.url.appendingPathComponent("images").path) == [ids[1]])
        #expect(try catalog.count() == 2)
        #expect(try catalog.embedding(id: ids[1]) == nil)
        #expect(try catalog.removeMissingFiles() == [ids[2]])
        #expect(try catalog.embeddings().ids == [ids[0]])
        #expect(try catalog.remove(ids: [ids[0], 424_242]) == 1)
        #expect(try catalog.count() == 0)
    }
}

@Suite("Content hash and embedding codec")
struct HashAndCodecTests {
    @Test("FNV-1a 64 known vectors")
    func fnvVectors() throws {
        #expect(contentHash(of: Data()) == "cbf29ce484222325")
        #expect(contentHash(of: Data("a".utf8)) == "af63dc4c8601ec8c")
        #expect(contentHash(of: Data("foobar".utf8)) == "85944171f73967e8")
        let folder = try TempFolder()
        defer { folder.cleanup() }
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })  // spans chunks
        let file = folder.path("blob.bin")
        try bytes.write(to: URL(fileURLWithPath: file))
        #expect(try contentHash(ofFileAt: file) == contentHash(of: bytes))
        #expect(throws: (any Error).self) { try contentHash(ofFileAt: folder.path("nope.bin")) }
    }

    @Test("embedding blobs are little-endian float32 and round-trip exactly")
    func codec() {
        #expect(EmbeddingCodec.encode([1.0]) == Data([0x00, 0x00, 0x80, 0x3F]))
        let values: [Float] = [0, -0.0, 1, -2.5, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 3.14159]
        let decoded = EmbeddingCodec.decode(EmbeddingCodec.encode(values))
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("class name is the parent folder")
    func className() {
        #expect(ImageRecord.className(forPath: "/data/UCMerced/forest/forest01.tif") == "forest")
        #expect(makeRecord("/a/b.tif", size: 5).isUnchanged(byteSize: 5, modifiedAt: 1_700_000_000))
        #expect(!makeRecord("/a/b.tif", size: 5).isUnchanged(byteSize: 6, modifiedAt: 1_700_000_000))
    }
}
