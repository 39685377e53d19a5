import Foundation
import Testing
import SatSeekCatalog
import SatSeekIndex
import SatSeekStore

@Suite("kill -9 during indexing", .serialized)
struct CrashResumeTests {
    @Test(
        "a killed `satseek index` leaves a readable catalog; re-running resumes without duplicates",
        .enabled(if: weightsInstalled))
    func killAndResume() async throws {
        let root = try temporaryFolder("crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        // Enough images that the kill lands mid-run even with the engine's optimised kernels (12 × 25).
        let classes = [
            "Beach", "Forest", "Port", "Desert", "Airport", "BareLand", "Bridge", "Church", "Farmland",
            "Meadow", "Pond", "River"
        ]
        let total = classes.count * 25
        try copySample(classes: classes, perClass: 25, into: data)
        let db = root.appendingPathComponent("crash.satseek").path
        let binary = try #require(satseekExecutable())

        let childErrors = root.appendingPathComponent("index.err")
        let (killedMidway, stored) = try await onOwnThread { () throws -> (Bool, Int) in
            let pid = try spawnChild(
                binary.path, ["index", data.path, "--db", db, "--batch", "2"], stderr: childErrors.path)
            var status: Int32 = 0
            var running: Bool { waitpid(pid, &status, WNOHANG) == 0 }
            // Kill it as soon as some, but not all, batches are committed. The indexer only runs while this loop
            // sleeps: it is stopped (SIGSTOP) for every look at the catalog, so a loaded machine that starves this
            // test's thread cannot let it finish unobserved, and the SIGKILL lands wherever the stop caught it.
            var stored = 0
            var killedMidway = false
            let deadline = Date().addingTimeInterval(300)
            while running, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.005)
                kill(pid, SIGSTOP)
                // Read-only and without waiting: opening the catalog for writing would migrate it from this process
                // under the stopped indexer's feet, or wait on a lock the stopped indexer holds.
                let size = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? NSNumber)?.intValue ?? 0
                if size > 0, let count = Catalog.peekCount(path: db) { stored = count }
                if stored >= 4 {
                    killedMidway = running
                    break
                }
                kill(pid, SIGCONT)
            }
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return (killedMidway, stored)
        }
        #expect(
            killedMidway,
            """
            the indexer finished before it could be killed (\(stored) stored); it printed: \
            \((try? String(contentsOf: childErrors, encoding: .utf8)) ?? "nothing")
            """)

        let afterKill = try Catalog(path: db, create: false)
        let kept = try afterKill.count()
        #expect(kept >= 4 && kept < total, "\(kept) images survived the kill")
        #expect(try afterKill.embeddings().ids.count == kept, "every surviving image has its embedding")
        // The index file is written only after the catalog, atomically: absent or whole, never half.
        let flatPath = CatalogIndexFile.path(forCatalog: db, kind: .flat)
        if FileManager.default.fileExists(atPath: flatPath) {
            _ = try FlatIndex.open(flatPath, verifyChecksum: true)
        }

        let resumed = try await runSatSeek(["index", data.path, "--db", db, "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let catalog = try Catalog(path: db, create: false)
        let records = try catalog.allRecords()
        #expect(records.count == total)
        #expect(Set(records.map(\.path)).count == total, "no path is stored twice")
        #expect(try catalog.embeddings().ids.count == total)
        let report = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any]
        #expect(report?["unchanged"] as? Int == kept, "the resumed run skips what was committed before the kill")
        // The resumed run leaves a current, verified index file holding each image once.
        let header = try IndexFileHeader.read(path: flatPath, kind: .flat)
        #expect(header.sourceRevision == (try catalog.embeddingRevision()))
        let index = try FlatIndex.open(flatPath, verifyChecksum: true)
        let ids = index.search(try #require(try catalog.embedding(id: records[0].id!)), k: total + 10).map(\.id)
        #expect(ids.count == total && Set(ids).count == total && Set(ids) == Set(records.compactMap(\.id)))
        let files = report?["indexFiles"] as? [[String: Any]]
        #expect(files?.first?["action"] as? String == "written")
    }
}
