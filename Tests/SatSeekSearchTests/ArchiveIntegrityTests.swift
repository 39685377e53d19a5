import Foundation
import GRDB
import Testing
import SatSeekCatalog
@testable import SatSeekSearch

/// A catalog that lost data, and two writers at once: `index` must notice and repair, never report
/// "unchanged" over a hole, and a second run must wait for the first instead of racing it.
@Suite("Archive integrity: lost embeddings, one writer at a time")
struct ArchiveIntegrityTests {
    private func indexedFolder(_ name: String, perClass: Int = 4) throws -> (root: URL, data: URL, db: String) {
        let (root, data, db) = try sampleFolder(name, classes: ["Beach", "Port"], perClass: perClass)
        let catalog = try Catalog(path: db, create: true)
        let report = try Indexer(catalog: catalog, model: ChannelMeans()).index(data.path)
        #expect(report.added == 2 * perClass)
        return (root, data, db)
    }

    @Test("a deleted embedding row is re-embedded, not reported unchanged")
    func deletedEmbeddingRow() throws {
        let (root, data, db) = try indexedFolder("lost-row")
        defer { try? FileManager.default.removeItem(at: root) }
        let catalog = try Catalog(path: db, create: false)
        let victim = try #require(try catalog.allRecords().first?.id)
        let queue = try rawConnection(db)
        try queue.write { try $0.execute(sql: "DELETE FROM embedding WHERE imageId = ?", arguments: [victim]) }
        try queue.close()
        #expect(try !catalog.hasEmbedding(id: victim))

        let report = try Indexer(catalog: catalog, model: ChannelMeans()).index(data.path)
        #expect(report.updated == 1 && report.unchanged == 7 && report.added == 0)
        #expect(try catalog.hasEmbedding(id: victim))
        #expect(try catalog.embeddings().ids.count == 8)
    }

    @Test("a dropped embedding table is recreated on opening and every image re-embedded")
    func droppedEmbeddingTable() throws {
        let (root, data, db) = try indexedFolder("lost-table")
        defer { try? FileManager.default.removeItem(at: root) }
        let ids = try Catalog(path: db, create: false).allRecords().compactMap(\.id)
        let queue = try rawConnection(db)
        try queue.write { try $0.execute(sql: "DROP TABLE embedding") }
        try queue.close()

        let catalog = try Catalog(path: db, create: false)
        #expect(catalog.repairedTables == ["embedding"])
        let report = try Indexer(catalog: catalog, model: ChannelMeans()).index(data.path)
        #expect(report.updated == 8 && report.unchanged == 0)
        #expect(try catalog.embeddings().ids == ids, "the rows keep their ids")
        #expect(try Catalog(path: db, create: false).repairedTables.isEmpty)
    }

    @Test(
        "two `index` runs started together on a new catalog: one adds, the other waits and finds it current",
        .enabled(if: weightsInstalled))
    func concurrentIndexRuns() async throws {
        let (root, data, db) = try sampleFolder("two-writers", classes: ["Beach", "Port"], perClass: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        async let first = runSatSeek(["index", data.path, "--db", db, "--json"])
        async let second = runSatSeek(["index", data.path, "--db", db, "--json"])
        let runs = try await [first, second]
        for run in runs { #expect(run.status == 0, "\(run.stderr)") }
        let reports = try runs.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any])
        }
        let added = reports.compactMap { $0["added"] as? Int }.sorted()
        let unchanged = reports.compactMap { $0["unchanged"] as? Int }.sorted()
        #expect(added == [0, 8], "each run reports what it really added: \(reports)")
        #expect(unchanged == [0, 8])
        #expect(runs.contains { $0.stderr.contains("waiting for another indexing run") })
        let catalog = try Catalog(path: db, create: false)
        #expect(try catalog.allRecords().compactMap(\.id) == Array(1...8), "ids are never renumbered")

        let refused = try await runSatSeek(["index", data.path, "--db", db, "--no-wait"])
        #expect(refused.status == 0, "an uncontended --no-wait run proceeds: \(refused.stderr)")
    }

    @Test("a file whose name is not valid UTF-8 is reported, not passed over in silence")
    func invalidUTF8Name() throws {
        let root = try temporaryFolder("names")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Beach"], perClass: 2, into: data)
        let jpeg = try Data(
            contentsOf: data.appendingPathComponent("Beach").appendingPathComponent(
                try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("Beach").path).sorted()[
                    0]))
        // "bad\xff.jpg": written through open(2) with the raw bytes.
        let name =
            Array(data.appendingPathComponent("Beach").path.utf8) + Array("/bad".utf8) + [0xff] + Array(".jpg".utf8) + [
                0
            ]
        let descriptor = name.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        }
        try #require(descriptor >= 0)
        _ = jpeg.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)

        let catalog = try Catalog(path: root.appendingPathComponent("test.satseek").path, create: true)
        let report = try Indexer(catalog: catalog, model: ChannelMeans()).index(data.path)
        #expect(report.added == 2)
        #expect(
            report.failures.count == 1 && report.failures[0].reason.contains("not valid UTF-8"), "\(report.failures)")
    }

    @Test("a second writer lock on a catalog waits or refuses while the first is held")
    func writerLock() async throws {
        let root = try temporaryFolder("lock")
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("test.satseek").path
        var first: CatalogWriterLock? = try CatalogWriterLock(catalogPath: db, wait: false)
        #expect {
            try CatalogWriterLock(catalogPath: db, wait: false)
        } throws: { error in
            "\(error)".contains("pid \(getpid())") && "\(error)".contains("another indexing run")
        }
        // A waiter gets the lock once the first lets go.
        let acquired = ManagedFlag()
        let waited = ManagedFlag()
        let waiter = Task {
            try await onOwnThread {
                let second = try CatalogWriterLock(catalogPath: db, wait: true) { _ in waited.set() }
                withExtendedLifetime(second) { acquired.set() }
            }
        }
        // Let go only once the waiter has found the lock held (a loaded machine may start it late).
        let deadline = Date().addingTimeInterval(60)
        while !waited.value, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!acquired.value, "the waiter must not get a held lock")
        withExtendedLifetime(first) {}
        first = nil
        try await waiter.value
        #expect(acquired.value)
        #expect(waited.value)
    }
}

/// A plain SQLite connection to a catalog (to damage it as another program would), waiting up to 10 s for the
/// lock like the catalog's own connections do.
private func rawConnection(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    return try DatabaseQueue(path: path, configuration: configuration)
}

/// A flag set from another thread.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var isSet = false
    func set() { lock.withLock { isSet = true } }
    var value: Bool { lock.withLock { isSet } }
}
