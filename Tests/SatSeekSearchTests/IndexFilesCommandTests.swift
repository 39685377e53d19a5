import Foundation
import Testing
import SatSeekCatalog
import SatSeekIndex
import SatSeekStore

@Suite("satseek index keeps the index files; search uses them")
struct IndexFilesCommandTests {
    @Test(
        "index --hnsw writes both files; HNSW and --exact searches agree; a re-run finds them current",
        .enabled(if: weightsInstalled))
    func hnswFileThroughTheCommandLine() async throws {
        let (root, data, db) = try sampleFolder(
            "index-files", classes: ["Beach", "Forest", "Port", "Desert"], perClass: 8, catalog: "files.satseek")
        defer { try? FileManager.default.removeItem(at: root) }

        let first = try await runSatSeek(["index", data.path, "--db", db, "--hnsw", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let files = try #require(
            (try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])?["indexFiles"]
                as? [[String: Any]])
        #expect(files.map { $0["kind"] as? String } == ["flat", "hnsw"])
        #expect(files.allSatisfy { $0["action"] as? String == "written" && $0["vectors"] as? Int == 32 })
        let catalog = try Catalog(path: db, create: false)
        let revision = try catalog.embeddingRevision()
        for kind in [IndexKind.flat, .hnsw] {
            #expect(
                try IndexFileHeader.read(path: CatalogIndexFile.path(forCatalog: db, kind: kind), kind: kind)
                    .sourceRevision == revision)
        }

        func ids(_ extra: [String]) async throws -> [Int] {
            let run = try await runSatSeek(["search", "--db", db, "--item", "3", "-k", "5", "--json"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let rows = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] ?? []
            return rows.compactMap { $0["id"] as? Int }
        }
        let approximate = try await ids([]), exact = try await ids(["--exact"])
        #expect(exact.count == 5 && approximate == exact, "HNSW \(approximate) vs exact \(exact) on 32 vectors")

        let again = try await runSatSeek(["index", data.path, "--db", db, "--json"])
        let actions =
            ((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["indexFiles"]
            as? [[String: Any]])?.map { $0["action"] as? String }
        #expect(actions == ["current", "current"], "nothing changed, the HNSW file is kept without --hnsw")
    }
}
