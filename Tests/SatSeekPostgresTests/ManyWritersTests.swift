import Foundation
import Testing
import SatSeekTestSupport
import SatSeekCatalog
import SatSeekIndex
@testable import SatSeekPostgres
import SatSeekStore

/// Several catalogs (machines) writing into one store: global identity, per-writer deletes, idempotent re-runs,
/// and rows written before writers existed.
@Suite(.serialized) struct ManyWritersTests {
    static let modelID = "test-writers"
    static let dimensions = 32

    /// A catalog bound to the test model holding `count` clustered vectors under `/archive/<name>/…`.
    static func makeCatalog(
        _ name: String, count: Int, seed: UInt64, in folder: URL, extraPaths: [String] = []
    ) async throws -> Catalog {
        let catalog = try Catalog(path: folder.appendingPathComponent("\(name).satseek").path, create: true)
        let store = try EmbeddedStore(catalog: catalog, binding: ModelBinding(modelID: modelID, dimensions: dimensions))
        let vectors = clusteredVectors(clusters: 4, perCluster: count / 4, dimensions: dimensions, seed: seed)
        var items = vectors.enumerated().map { i, vector in
            StoreItem(id: 0, path: "/archive/\(name)/\(i).tif", className: "c\(i % 4)", vector: vector)
        }
        for (i, path) in extraPaths.enumerated() {
            items.append(StoreItem(id: 0, path: path, className: "shared", vector: vectors[i].map { -$0 }))
        }
        try await store.upsert(items: items)
        return catalog
    }

    @Test func writersFillOneStoreConcurrentlyAndKeepTheirOwnIDs() async throws {
        let folder = try temporaryFolder("writers")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Three machines; /archive/common.tif is indexed by two of them.
        let catalogs = [
            try await Self.makeCatalog("a", count: 120, seed: 1, in: folder),
            try await Self.makeCatalog("b", count: 80, seed: 2, in: folder, extraPaths: ["/archive/common.tif"]),
            try await Self.makeCatalog("c", count: 100, seed: 3, in: folder, extraPaths: ["/archive/common.tif"])
        ]
        let allPaths = Set(try catalogs.flatMap { try $0.allRecords().map(\.path) })

        try await TestCluster.with("writers") { url in
            // All three at once, in small transactions so that their writes interleave.
            let reports = try await withThrowingTaskGroup(of: StoreSyncReport.self) { group in
                for catalog in catalogs {
                    group.addTask {
                        let store = try await PostgresStore.open(url: url, for: catalog)
                        let report = try await store.sync(from: catalog, chunkSize: 7)
                        await store.close()
                        return report
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(reports.map(\.added).reduce(0, +) == allPaths.count, "\(reports)")

            let stores = try await catalogs.asyncMap { try await PostgresStore.open(url: url, for: $0) }
            let first = stores[0]
            #expect(try await first.count() == allPaths.count, "every path exactly once")
            #expect(Set(stores.compactMap(\.writer)).count == 3, "three writer numbers")
            let common = try await first.transaction("counting") { conn in
                try await first.scalar(
                    conn, "SELECT count(*)::int8 FROM \(first.itemsTable) WHERE path = '/archive/common.tif'")
            }
            #expect(common == 1, "a path two writers indexed is stored once")
            let writers = try await first.writers()
            #expect(writers.map(\.items).reduce(0, +) == Int64(allPaths.count))

            // Each opener finds its own items under its catalog ids, and others' with the store's path and class.
            for (catalog, store) in zip(catalogs, stores) {
                let own = try catalog.embeddings()
                for row in [0, own.ids.count / 2, own.ids.count - 1] {
                    let id = own.ids[row]
                    let vector = Array(own.vectors[row * Self.dimensions..<(row + 1) * Self.dimensions])
                    let record = try #require(try catalog.records(ids: [id])[id])
                    guard record.path != "/archive/common.tif" else { continue }  // the last writer's, below
                    let hits = try await store.search(vector: vector, k: 1, exact: true, filter: .none)
                    #expect(hits.map(\.id) == [id], "\(catalog.path) item \(id)")
                    #expect(try await store.vectors(ids: [id])[id] == vector)
                }
                let foreign = try await store.search(
                    vector: try await first.vectors(ids: [1])[1] ?? [], k: 300, exact: true, filter: .none)
                let records = try await store.records(ids: foreign.map(\.id))
                #expect(records.count == foreign.count, "every hit has a record")
                for hit in foreign where try catalog.records(ids: [hit.id])[hit.id] == nil {
                    #expect(hit.id > PostgresStore.maximumLocalID, "another writer's item is never a catalog id")
                }
                // Excluding an own item works in catalog ids.
                let excluded = try await store.search(
                    vector: Array(own.vectors[0..<Self.dimensions]), k: 1, exact: true,
                    filter: SearchFilter(excluded: [own.ids[0]]))
                #expect(excluded.first?.id != own.ids[0])
            }

            // A re-run adds and changes nothing.
            for (catalog, store) in zip(catalogs, stores) {
                let again = try await store.sync(from: catalog)
                #expect(again.added == 0 && again.removed == 0, "\(again)")
            }
            #expect(try await first.count() == allPaths.count)

            // A writer that drops items deletes only its own rows.
            let gone = try catalogs[0].allRecords().prefix(5).compactMap(\.id)
            _ = try catalogs[0].remove(ids: gone)
            let after = try await stores[0].sync(from: catalogs[0])
            #expect(after.removed == 5 && after.total == allPaths.count - 5, "\(after)")
            for store in stores { await store.close() }
        }
    }

    @Test func rowsWrittenBeforeWritersAreTakenBackByTheirCatalog() async throws {
        let folder = try temporaryFolder("legacy")
        defer { try? FileManager.default.removeItem(at: folder) }
        let catalog = try await Self.makeCatalog("old", count: 40, seed: 4, in: folder)
        try await TestCluster.with("legacy") { url in
            // The old layout: rows under catalog ids, no writer, no identity record.
            let raw = try await PostgresStore.open(url: url, modelID: Self.modelID, dimensions: Self.dimensions)
            let stored = try catalog.embeddings()
            let records = try catalog.records(ids: stored.ids)
            try await raw.upsert(
                items: stored.ids.enumerated().map { row, id in
                    StoreItem(
                        id: id, path: records[id]!.path, className: records[id]!.className,
                        vector: Array(stored.vectors[row * Self.dimensions..<(row + 1) * Self.dimensions]))
                })
            try await raw.transaction("forgetting identities") { conn in
                try await raw.exec(conn, "DELETE FROM \(raw.metaTable) WHERE key = '\(PostgresStore.identityKey)'")
            }
            await raw.close()

            // Opening moves them out of the catalog-id range; the catalog's sync takes them back by path.
            let store = try await PostgresStore.open(url: url, for: catalog)
            let moved = try await store.search(
                vector: Array(stored.vectors[0..<Self.dimensions]), k: 1, exact: true, filter: .none)
            #expect(moved.first.map { $0.id > PostgresStore.maximumLocalID } == true, "\(moved)")
            let report = try await store.sync(from: catalog)
            #expect(report.added == 0 && report.changed == stored.ids.count && report.total == stored.ids.count)
            let back = try await store.search(
                vector: Array(stored.vectors[0..<Self.dimensions]), k: 1, exact: true, filter: .none)
            #expect(back.map(\.id) == [stored.ids[0]])
            await store.close()
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
