import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing
import SatSeekCatalog

/// The CLI, the HTTP API and the PostgreSQL store answer the same queries with the same ranking — one engine
/// behind all three — exactly, through a current HNSW file written while the server runs, and inside a bbox.
@Suite(.serialized) struct OneSearchPathTests {
    /// Ids of `satseek search … --json` (results array) or of a feedback/find-all answer (object).
    func cliIDs(_ binary: URL, _ arguments: [String]) async throws -> [Int64] {
        let run = try await runForStdout(binary, ["search"] + arguments + ["--json"])
        #expect(run.status == 0, "search \(arguments): \(run.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        let results = (json as? [[String: Any]]) ?? ((json as? [String: Any])?["results"] as? [[String: Any]]) ?? []
        return results.compactMap { ($0["id"] as? NSNumber)?.int64Value }
    }

    func apiIDs(_ url: String) async throws -> [Int64] {
        let answer = try await http(url)
        #expect(answer.status == 200, "\(url): \(answer.text)")
        let results = try answer.json()["results"] as? [[String: Any]] ?? []
        return results.compactMap { (($0["item"] as? [String: Any])?["id"] as? NSNumber)?.int64Value }
    }

    @Test(.enabled(if: weightsInstalled)) func cliAPIAndPostgresRankAlike() async throws {
        guard let binary = satseekExecutable() else { return }
        let root = try temporaryFolder("one-path")
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("one.satseek").path
        for scene in [naipScene, landsatScene] {
            let run = try await runProcess(binary.path, ["index", scene, "--db", db, "--tile", "224"], timeout: 600)
            #expect(run.status == 0, "\(run.output)")
        }
        let catalog = try Catalog(path: db, create: false)
        let naip = try catalog.allRecords().filter { $0.path.contains("naip_") }.compactMap(\.id)
        let chips = try catalog.chips(ids: naip)
        let box = chips.values.compactMap { c in
            c.minLon.map { GeoBox(minLon: $0, minLat: c.minLat!, maxLon: c.maxLon!, maxLat: c.maxLat!) }
        }
        .prefix(6).reduce(nil as GeoBox?) { $0?.union($1) ?? $1 }!
        let queries: [Int64] = [naip[0], naip[5], try #require(try catalog.allRecords().last?.id)]

        try await TestCluster.with("one-path") { url in
            let sync = try await runProcess(
                binary.path, ["index", landsatScene, "--db", db, "--tile", "224", "--store", url], timeout: 600)
            #expect(sync.status == 0 && sync.output.contains("synced"), "\(sync.output)")
            let server = try await ServeProcess.start(binary: binary, db: db)
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.port)"

            func compare(_ label: String) async throws {
                for id in queries {
                    let cli = try await cliIDs(binary, ["--db", db, "--item", "\(id)", "-k", "6"])
                    let api = try await apiIDs("\(base)/api/search?item=\(id)&k=6")
                    let store = try await cliIDs(
                        binary, ["--db", db, "--item", "\(id)", "-k", "6", "--store", url, "--exact"])
                    #expect(
                        cli.count == 6 && cli == api && cli == store,
                        "\(label), item \(id): CLI \(cli) API \(api) PostgreSQL \(store)")
                    let inBox = try await cliIDs(
                        binary, ["--db", db, "--item", "\(id)", "-k", "4", "--bbox=" + box.description])
                    let apiInBox = try await apiIDs("\(base)/api/search?item=\(id)&k=4&bbox=\(box.description)")
                    let storeInBox = try await cliIDs(
                        binary,
                        [
                            "--db", db, "--item", "\(id)", "-k", "4", "--bbox=" + box.description,
                            "--store", url, "--exact"
                        ])
                    #expect(
                        !inBox.isEmpty && inBox == apiInBox && inBox == storeInBox,
                        "\(label) in \(box), item \(id): CLI \(inBox) API \(apiInBox) PostgreSQL \(storeInBox)")
                    let allowed = try catalog.chipIDs(
                        intersectingMinLon: box.minLon, minLat: box.minLat,
                        maxLon: box.maxLon, maxLat: box.maxLat)
                    #expect(inBox.allSatisfy { allowed.contains($0) })
                }
            }
            try await compare("exact index file")
            // Write the HNSW file while the server runs: the server and the CLI then both walk the graph.
            let graph = try await runProcess(
                binary.path, ["index", landsatScene, "--db", db, "--tile", "224", "--hnsw"], timeout: 600)
            #expect(graph.status == 0 && graph.output.contains("hnsw index file"), "\(graph.output)")
            try await compare("current HNSW file")
        }
    }
}

/// A server whose catalog is one of several writers of a shared PostgreSQL store shows the other writers' items too.
@Suite(.serialized) struct SharedStoreServerTests {
    @Test(.enabled(if: weightsInstalled)) func otherWritersItemsAreResultsWithImages() async throws {
        guard let binary = satseekExecutable() else { return }
        let root = try temporaryFolder("shared-store")
        defer { try? FileManager.default.removeItem(at: root) }
        let mine = root.appendingPathComponent("mine"), theirs = root.appendingPathComponent("theirs")
        try copySample(classes: ["Beach"], perClass: 4, into: mine)
        try copySample(classes: ["Port"], perClass: 4, into: theirs)
        let myDB = root.appendingPathComponent("mine.satseek").path
        try await TestCluster.with("shared-store") { url in
            for (folder, db) in [(mine, myDB), (theirs, root.appendingPathComponent("theirs.satseek").path)] {
                let run = try await runProcess(binary.path, ["index", folder.path, "--db", db, "--store", url])
                #expect(run.status == 0, "\(run.output)")
            }
            let server = try await ServeProcess.start(binary: binary, db: myDB, arguments: ["--store", url, "--exact"])
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.port)"
            let answer = try await http("\(base)/api/search?item=1&k=7")
            #expect(answer.status == 200, "\(answer.text)")
            let results = try answer.json()["results"] as? [[String: Any]] ?? []
            #expect(results.count == 7, "all 7 other items of both writers: \(answer.text)")
            let items = results.compactMap { $0["item"] as? [String: Any] }
            let ports = items.filter { $0["className"] as? String == "Port" }
            #expect(ports.count == 4, "the other writer's four items: \(items.map { $0["className"] ?? "?" })")
            for port in ports {
                let id = (port["id"] as? NSNumber)?.int64Value ?? 0
                let image = try await http("\(base)/api/items/\(id)/image?size=64")
                #expect(image.status == 200 && image.body.starts(with: [0xFF, 0xD8]), "item \(id): \(image.status)")
            }
        }
    }
}
