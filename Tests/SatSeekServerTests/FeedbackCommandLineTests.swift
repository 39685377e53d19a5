import Foundation
import Testing
import SatSeekCatalog

/// `collections`, `search --positive/--negative/--collection/--threshold`, `export` and `train --collection` on
/// the command line, over the shared fixture (NAIP chips with footprints), including refused input.
@Suite(.serialized) struct FeedbackCommandLineTests {
    @Test(.enabled(if: weightsInstalled)) func collectionsSearchExportAndTrain() async throws {
        guard let binary = satseekExecutable() else { return }
        let f = try await ServerFixture.shared()
        let naip = try f.naipChipIDs()
        let others = try f.session.catalog.allRecords().compactMap(\.id).filter { !naip.contains($0) }
        let root = try temporaryFolder("feedback-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await runProcess(binary.path, arguments + ["--db", f.db], timeout: 300)
        }
        let name = "fields-\(UUID().uuidString.prefix(6))"
        let add = try await run(
            ["collections", "add", name] + naip.prefix(4).flatMap { ["--positive", "\($0)"] }
                + others.prefix(4).flatMap { ["--negative", "\($0)"] })
        #expect(add.status == 0 && add.output.contains("4 positive, 4 negative"), "\(add.output)")

        // Refined search: the examples are left out, the other NAIP chips come first.
        let search = try await runForStdout(binary, ["search", "--db", f.db, "--collection", name, "-k", "5", "--json"])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as? [String: Any])
        let ids = (answer["results"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
        #expect(answer["scoring"] as? String == "logistic")
        #expect(ids.count == 5 && ids.allSatisfy { naip.contains($0) && !naip.prefix(4).contains($0) }, "\(ids)")

        // Find all as GeoJSON: opens in GDAL, every feature a NAIP chip polygon.
        let out = root.appendingPathComponent("fields.geojson").path
        let export = try await run([
            "export", "--collection", name, "--threshold", "0.5", "--format", "geojson", "--out", out
        ])
        #expect(export.status == 0, "\(export.output)")
        let ogr = try await runProcess("/usr/bin/ogrinfo", ["-ro", "-al", "-so", out])
        #expect(ogr.status == 0 && ogr.output.contains("Geometry: Polygon"), "\(ogr.output)")
        let geojson = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let features = geojson["features"] as? [[String: Any]] ?? []
        #expect(ogr.output.contains("Feature Count: \(features.count)") && !features.isEmpty)
        let labelled = features.compactMap { ($0["properties"] as? [String: Any])?["label"] as? Int }
        #expect(
            labelled.allSatisfy { $0 == 1 }, "labels travel with the export; negatives score below 0.5: \(labelled)")
        // CSV of the collection itself.
        let csv = try await runForStdout(binary, ["collections", "export", name, "--db", f.db, "--format", "csv"])
        #expect(csv.stdout.split(separator: "\n").count == 9 && csv.stdout.hasPrefix("id,rank,score,label"))

        // The export moves the collection: imported back under another name, the same labels.
        let copy = "\(name)-copy"
        let imported = try await run(["collections", "import", copy, out])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(
            try f.session.catalog.labels(inCollection: copy).map(\.itemID).sorted()
                == features.compactMap { (($0["properties"] as? [String: Any])?["id"] as? NSNumber)?.int64Value }
                .sorted())
        let csvFile = root.appendingPathComponent("fields.csv").path
        try csv.stdout.write(toFile: csvFile, atomically: true, encoding: .utf8)
        let fromCSV = try await run(["collections", "import", "\(name)-csv", csvFile])
        #expect(fromCSV.status == 0 && fromCSV.output.contains("4 positive, 4 negative"), "\(fromCSV.output)")
        let clash = try await run(["collections", "import", copy, csvFile])
        #expect(clash.status != 0 && clash.output.contains("already exists"), "\(clash.output)")
        try f.session.catalog.deleteCollection(copy)
        try f.session.catalog.deleteCollection("\(name)-csv")

        // A head trained from the collection's labels.
        let head = root.appendingPathComponent("fields.satseek-head").path
        let train = try await run(["train", "--collection", name, "--out", head, "--epochs", "2", "--split", "0.5"])
        #expect(train.status == 0 && FileManager.default.fileExists(atPath: head), "\(train.output)")

        // Refusals name the thing and change nothing.
        let before = try f.session.catalog.collections()
        for (arguments, says) in [
            (["search", "--collection", "no-such"], "no collection named 'no-such'"),
            (["search", "--negative", "\(others[0])"], "at least one positive"),
            (["search", "--positive", "999999"], "no item with id 999999"),
            (["collections", "add", "new-one", "--positive", "999999"], "no item with id 999999"),
            (
                ["export", "--item", "\(naip[0])", "--out", "/nonexistent-folder/x.geojson"],
                "cannot write /nonexistent-folder/x.geojson"
            ),
            (["collections", "show", "no-such"], "no collection named 'no-such'")
        ] {
            let refused = try await run(arguments)
            #expect(refused.status != 0 && refused.output.contains(says), "\(arguments): \(refused.output)")
        }
        #expect(try f.session.catalog.collections() == before)
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent-folder"))
    }
}
