import Foundation
import Testing
import SatSeekCatalog
import SatSeekImaging
import SatSeekModels
@testable import SatSeekSearch
import SatSeekEvaluation

@Suite("indexing and searching a real folder", .serialized)
struct IndexingTests {
    @Test(
        "bad files are listed with reasons, good ones indexed, re-runs skip unchanged files",
        .enabled(if: weightsInstalled))
    func indexBadAndGoodFiles() throws {
        let root = try temporaryFolder("index")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Port", "Forest"], perClass: 3, into: data)
        try writeBadFiles(
            into: data.appendingPathComponent("Broken"),
            validJPEG: data.appendingPathComponent("Port").appendingPathComponent(
                try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("Port").path).sorted()[
                    0]))
        let db = root.appendingPathComponent("test.satseek").path

        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)
        let first = try session.indexer().index(data.path)
        #expect(first.scanned == 10)
        #expect(first.added == 6)
        let reasons = Dictionary(
            uniqueKeysWithValues: first.failures.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        #expect(reasons.count == 4)
        #expect(reasons["truncated.jpg"]?.contains("truncated") == true, "\(reasons)")
        #expect(reasons["notes.tif"]?.contains("not a recognised image") == true, "\(reasons)")
        #expect(reasons["empty.jpg"]?.contains("empty") == true, "\(reasons)")
        #expect(reasons["tiny.png"]?.contains("1×1") == true, "\(reasons)")

        let second = try session.indexer().index(data.path)
        #expect(second.added == 0 && second.updated == 0 && second.unchanged == 6)
        #expect(try session.catalog.count() == 6)

        // Replace one image's content: it is re-embedded in place, never duplicated.
        let forest = data.appendingPathComponent("Forest")
        let forestFiles = try FileManager.default.contentsOfDirectory(atPath: forest.path).sorted()
        let victim = forest.appendingPathComponent(forestFiles[0])
        let before = try #require(try session.catalog.record(path: victim.standardizedFileURL.path))
        try FileManager.default.removeItem(at: victim)
        try FileManager.default.copyItem(at: forest.appendingPathComponent(forestFiles[1]), to: victim)
        let third = try session.indexer().index(data.path)
        #expect(third.updated == 1 && third.added == 0)
        #expect(try session.catalog.count() == 6)
        #expect(try session.catalog.record(path: victim.standardizedFileURL.path)?.id == before.id)
    }

    /// The streaming pipeline hands tickets to workers out of order and stores them in batches: whatever the
    /// batch size and look-ahead, every file must end up once, under its own path, with its own embedding.
    @Test(
        "any batch size and look-ahead stores each file once with its own embedding", .enabled(if: weightsInstalled),
        arguments: [(1, 0), (2, 1), (5, 2), (32, 2)])
    func streamKeepsFilesAndEmbeddingsTogether(batch: (size: Int, depth: Int)) throws {
        let root = try temporaryFolder("stream")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Beach", "Farmland", "Port"], perClass: 3, into: data)
        let good = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("Beach").path)
            .sorted()[0]
        try writeBadFiles(
            into: data.appendingPathComponent("Farmland"),  // bad files between the good ones
            validJPEG: data.appendingPathComponent("Beach").appendingPathComponent(good))
        let session = try SearchSession(
            db: root.appendingPathComponent("test.satseek").path,
            model: ModelStore.defaultModel, create: true)
        var indexer = try session.indexer()
        indexer.batchSize = batch.size
        indexer.queueDepth = batch.depth
        var snapshots: [ProgressSnapshot] = []
        let report = try indexer.index(data.path) { snapshots.append($0) }
        #expect(report.scanned == 13 && report.added == 9 && report.failures.count == 4)
        #expect(try session.catalog.count() == 9)
        #expect(snapshots.map(\.done) == snapshots.map(\.done).sorted(), "progress never goes back")
        #expect(snapshots.last?.done == 13 && snapshots.last?.failed == 4)
        for record in try session.catalog.allRecords() {
            let image = try ImageDecoder.decode(URL(fileURLWithPath: record.path), maxSide: Indexer.decodeMaxSide)
            let expected = session.model.embed(images: [image])
            let stored = try #require(try session.catalog.embedding(id: record.id!))
            let difference = zip(stored, expected).map { abs($0 - $1) }.max() ?? 1
            #expect(difference < 1e-5, "\(record.path): stored embedding differs by \(difference)")
        }
    }

    // ChannelMeans (SatSeekTestSupport) has no `embedStream` of its own: the protocol's default prepares 32
    // tickets before embedding any, more than the checker's window with batch 1 and no look-ahead.
    @Test("a model that embeds groups of 32 indexes with batch 1 and no look-ahead")
    func groupModelWithSmallWindow() throws {
        let root = try temporaryFolder("group")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Beach", "Farmland", "Port", "Forest"], perClass: 10, into: data)
        let catalog = try Catalog(path: root.appendingPathComponent("test.satseek").path, create: true)
        var indexer = try Indexer(catalog: catalog, model: ChannelMeans())
        indexer.batchSize = 1
        indexer.queueDepth = 0
        let report = try indexer.index(data.path)
        #expect(report.added == 40 && report.failures.isEmpty)
        #expect(try catalog.count() == 40)
    }

    @Test(
        "search by image and by item ranks same-class tiles first; another model is refused",
        .enabled(if: weightsInstalled && modelInstalled("effnet-lite1")))
    func searchAndModelMismatch() async throws {
        let (root, data, db) = try sampleFolder("search", classes: ["Port", "Forest", "Farmland"], perClass: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)
        _ = try session.indexer().index(data.path)

        let archive = try Archive(session: session)
        let port = data.appendingPathComponent("Port")
        let query = port.appendingPathComponent(
            try FileManager.default.contentsOfDirectory(atPath: port.path).sorted()[0])
        let byImage = try await archive.search(.imageFile(query.path), k: 5)
        #expect(byImage.count == 5)
        #expect(byImage[0].path == query.standardizedFileURL.path)
        #expect(byImage[0].score > 0.999)
        #expect(byImage.map(\.rank) == [1, 2, 3, 4, 5])
        #expect(zip(byImage, byImage.dropFirst()).allSatisfy { $0.score >= $1.score })

        let byItem = try await archive.search(.item(byImage[0].id), k: 3)
        #expect(!byItem.contains { $0.id == byImage[0].id })
        #expect(byItem[0].className == "Port")

        await #expect(throws: SearchError.self) { try await archive.search(.item(999_999), k: 3) }
        await #expect(throws: ImageError.self) {
            try await archive.search(.imageFile(root.appendingPathComponent("missing.jpg").path), k: 3)
        }

        #expect {
            _ = try SearchSession(db: db, model: "effnet-lite1", create: false)
        } throws: { error in
            let text = "\(error)"
            return text.contains("effnet-lite0") && text.contains("effnet-lite1") && text.contains("test.satseek")
        }
    }

    @Test("leave-one-out evaluation scores a separable sample far above chance", .enabled(if: weightsInstalled))
    func evaluation() throws {
        let root = try temporaryFolder("eval")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Port", "Forest", "Desert"], perClass: 5, into: data)
        let session = try SearchSession(
            db: root.appendingPathComponent("e.satseek").path, model: ModelStore.defaultModel, create: true)
        _ = try session.indexer().index(data.path)
        let result = try Evaluator.leaveOneOut(catalog: session.catalog, k: 4)
        #expect(result.queries == 15 && result.classes == 3)
        #expect(abs(result.chanceLevel - 4.0 / 14.0) < 1e-9)
        #expect(result.meanAveragePrecision > 0.6, "mAP@4 \(result.meanAveragePrecision)")
        #expect(result.perClass.map(\.className) == ["Desert", "Forest", "Port"])
    }
}
