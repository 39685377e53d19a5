import Foundation
import Testing
import SatSeekModels

/// Runs the built `satseek` executable and collects its exit status and output.
func runSatSeek(
    _ arguments: [String], binary: URL? = nil
) async throws -> (status: Int32, stdout: String, stderr: String) {
    guard let binary = binary ?? satseekExecutable() else { return (-1, "", "") }
    let run = try await runChild(binary.path, arguments)
    return (run.status, run.stdout, run.stderr)
}

@Suite("satseek command line", .serialized)
struct CommandLineTests {
    @Test(
        "index --label-prior, then search --text with no alignment: the model's own labels answer",
        .enabled(if: weightsInstalled && ModelStore().imageNetLabelsFile != nil && ModelStore().miniLMDirectory != nil))
    func labelPriorFromTheCommandLine() async throws {
        let root = try temporaryFolder("cli-labels")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Bridge", "Forest", "Parking"], perClass: 4, into: data)
        let db = root.appendingPathComponent("labels.satseek").path
        let index = try await runSatSeek(["index", data.path, "--db", db, "--label-prior"])
        #expect(index.status == 0, "\(index.stderr)")
        let search = try await runSatSeek(
            ["search", "--db", db, "--text", "an aerial photo of a suspension bridge", "-k", "3", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        struct Row: Decodable { let className: String }
        let rows = try JSONDecoder().decode([Row].self, from: Data(search.stdout.utf8))
        #expect(rows.count == 3 && rows.allSatisfy { $0.className == "Bridge" }, "\(rows.map(\.className))")

        // A composed query needs a joint space of images and text, which ImageNet labels are not.
        let composed = try await runSatSeek(["search", "--db", db, "--item", "1", "--text", "with a river"])
        #expect(composed.status != 0 && composed.stderr.contains("composed query needs an alignment"), "\(composed)")
        let weight = try await runSatSeek(
            ["search", "--db", db, "--item", "1", "--text", "river", "--text-weight", "2"])
        #expect(weight.status != 0 && weight.stderr.contains("--text-weight must be between 0 and 1"), "\(weight)")
    }

    @Test("index exits 0 listing bad files; search --json returns ranked results", .enabled(if: weightsInstalled))
    func indexAndSearch() async throws {
        let root = try temporaryFolder("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Beach", "Viaduct"], perClass: 2, into: data)
        let good = data.appendingPathComponent("Beach").appendingPathComponent(
            try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("Beach").path).sorted()[0])
        try writeBadFiles(into: data.appendingPathComponent("Broken"), validJPEG: good)
        let db = root.appendingPathComponent("cli.satseek").path

        let index = try await runSatSeek(["index", data.path, "--db", db])
        #expect(index.status == 0, "\(index.stderr)")
        #expect(index.stdout.contains("4 added") && index.stdout.contains("4 failed"), "\(index.stdout)")
        for bad in ["truncated.jpg", "notes.tif", "empty.jpg", "tiny.png"] {
            #expect(index.stdout.contains(bad), "\(bad) not reported")
        }

        let search = try await runSatSeek(["search", "--db", db, "--image", good.path, "-k", "3", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        struct Row: Decodable {
            let rank: Int; let id: Int64; let path: String; let className: String; let score: Float
        }
        let rows = try JSONDecoder().decode([Row].self, from: Data(search.stdout.utf8))
        #expect(rows.count == 3 && rows[0].className == "Beach" && rows[0].score > 0.999)

        let byItem = try await runSatSeek(["search", "--db", db, "--item", "\(rows[0].id)", "-k", "2", "--json"])
        #expect(byItem.status == 0, "\(byItem.stderr)")
    }

    @Test(
        "search with a missing file, a missing index or another model fails with a clear message",
        .enabled(if: weightsInstalled))
    func searchErrors() async throws {
        let root = try temporaryFolder("cli-errors")
        defer { try? FileManager.default.removeItem(at: root) }
        let missingDB = try await runSatSeek([
            "search", "--db", root.appendingPathComponent("nope.satseek").path, "--item", "1"
        ])
        #expect(missingDB.status != 0)
        #expect(missingDB.stderr.contains("nope.satseek"), "\(missingDB.stderr)")

        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Beach"], perClass: 2, into: data)
        let db = root.appendingPathComponent("e.satseek").path
        #expect(try await runSatSeek(["index", data.path, "--db", db]).status == 0)
        let missingImage = try await runSatSeek([
            "search", "--db", db, "--image", root.appendingPathComponent("ghost.jpg").path
        ])
        #expect(missingImage.status != 0)
        #expect(
            missingImage.stderr.contains("ghost.jpg") && missingImage.stderr.contains("does not exist"),
            "\(missingImage.stderr)")

        let otherModel = try await runSatSeek(["search", "--db", db, "--model", "effnet-lite2", "--item", "1"])
        #expect(otherModel.status != 0)
        #expect(
            otherModel.stderr.contains("effnet-lite0") && otherModel.stderr.contains("effnet-lite2"),
            "\(otherModel.stderr)")

        let noQuery = try await runSatSeek(["search", "--db", db])
        #expect(noQuery.status != 0 && noQuery.stderr.contains("exactly one query"))
    }
}
