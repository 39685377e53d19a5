import Foundation
import Testing
import SatSeekTestSupport
import SatSeekCatalog
import SatSeekIndex
@testable import SatSeekPostgres
import PostgresNIO
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

    /// What the issue asks of `satseek index --store`: three processes on disjoint folders fill one store with every
    /// image exactly once, a re-run adds nothing, and a writer killed while copying leaves the store consistent
    /// (others' rows untouched, its committed rows whole) and resumes on its next run.
    @Test(.enabled(if: weightsInstalled)) func concurrentIndexCommandsIntoOneStore() async throws {
        let binary = try #require(satseekExecutable())
        let root = try temporaryFolder("writers-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let groups = [["Beach", "Forest"], ["Port", "Desert"], ["Airport", "Bridge"]]
        var folders: [URL] = []
        for (i, classes) in groups.enumerated() {
            let folder = root.appendingPathComponent("machine\(i)")
            try copySample(classes: classes, perClass: 6, into: folder)
            folders.append(folder)
        }
        let late = root.appendingPathComponent("late")
        try copySample(classes: ["Church", "Farmland", "Meadow", "Pond", "River"], perClass: 8, into: late)
        let perFolder = 12
        let lateCount = 40

        try await TestCluster.with("writers-cli") { url in
            @Sendable func index(_ folder: URL, _ name: String) -> [String] {
                [
                    "index", folder.path, "--db", root.appendingPathComponent("\(name).satseek").path, "--store", url,
                    "--store-batch", "1"
                ]
            }
            // Three writers at once.
            let runs = try await withThrowingTaskGroup(of: ChildResult.self) { group in
                for (i, folder) in folders.enumerated() {
                    group.addTask { try await runChild(binary.path, index(folder, "machine\(i)")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for run in runs { #expect(run.status == 0, "\(run.stdout)\(run.stderr)") }

            let catalog = try Catalog(path: root.appendingPathComponent("machine0.satseek").path, create: false)
            let binding = try #require(try catalog.binding())
            let observer = try await PostgresStore.open(
                url: url, modelID: binding.modelID, dimensions: binding.dimensions)
            func storedPaths() async throws -> [String] {
                try await observer.transaction("listing") { conn in
                    let rows = try await conn.query(
                        PostgresQuery(unsafeSQL: "SELECT path FROM \(observer.itemsTable)"), logger: observer.logger)
                    var paths: [String] = []
                    for try await path in rows.decode(String.self) { paths.append(path) }
                    return paths
                }
            }
            let paths = try await storedPaths()
            let expected = try folders.flatMap { folder in
                try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }
                    .map { folder.appendingPathComponent($0).path }
            }
            #expect(paths.count == 3 * perFolder && Set(paths) == Set(expected), "every image exactly once")

            // A machine searching the shared store finds the other machines' items, shown as the store has them.
            let portImage = try #require(expected.first { $0.contains("/machine1/Port/") })
            let search = try await runChild(
                binary.path,
                [
                    "search", "--db", root.appendingPathComponent("machine0.satseek").path, "--store", url, "--image",
                    portImage, "-k", "5", "--exact", "--json"
                ])
            #expect(search.status == 0, "\(search.stderr)")
            let results =
                (try? JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as? [[String: Any]]) ?? []
            #expect(results.count == 5, "\(search.stdout)")
            #expect(results.first?["path"] as? String == portImage, "the image itself, from machine 1")
            #expect(
                ((results.first?["id"] as? NSNumber)?.int64Value ?? 0) > PostgresStore.maximumLocalID,
                "another writer's item has a store id")

            // A re-run adds nothing.
            let again = try await runChild(binary.path, index(folders[1], "machine1"))
            #expect(
                again.status == 0 && again.stdout.contains("0 added, 0 changed, \(perFolder) unchanged"),
                "\(again.stdout)")
            #expect(try await observer.count() == 3 * perFolder)

            // A fourth writer killed while it copies: stopped for every look at the store, killed once some but
            // not all of its rows are in.
            let errors = root.appendingPathComponent("late.err").path
            let (killedMidway, seen) = try await onOwnThread { () throws -> (Bool, Int) in
                let pid = try spawnChild(binary.path, index(late, "late"), stderr: errors)
                var status: Int32 = 0
                var running: Bool { waitpid(pid, &status, WNOHANG) == 0 }
                var seen = 0
                var killedMidway = false
                let deadline = Date().addingTimeInterval(400)
                while running, Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.002)
                    kill(pid, SIGSTOP)
                    // Never waits on a lock the stopped writer holds: a look that would is skipped.
                    let look = try? runBlocking {
                        try await observer.transaction("peeking") { conn in
                            try await observer.exec(conn, "SET LOCAL lock_timeout = '500ms'")
                            return try await observer.scalar(conn, "SELECT count(*)::int8 FROM \(observer.itemsTable)")
                        }
                    }
                    seen = look.map { Int($0) } ?? seen
                    if seen > 3 * perFolder {
                        killedMidway = seen < 3 * perFolder + lateCount && running
                        break
                    }
                    kill(pid, SIGCONT)
                }
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                return (killedMidway, seen)
            }
            #expect(killedMidway, "the writer was not caught copying (\(seen) rows seen)")
            let afterKill = try await storedPaths()
            #expect(Set(afterKill).count == afterKill.count, "no path twice")
            #expect(Set(expected).isSubset(of: Set(afterKill)), "the other writers' rows are untouched")
            #expect(afterKill.count > 3 * perFolder && afterKill.count < 3 * perFolder + lateCount)
            // Its next run copies the rest.
            let resumed = try await runChild(binary.path, index(late, "late"))
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(try await observer.count() == 3 * perFolder + lateCount)
            await observer.close()
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

/// The result of an async call, waited for on a thread that may block (a test's own observer thread).
private func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>?
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
