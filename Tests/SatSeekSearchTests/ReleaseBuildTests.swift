import Foundation
import Testing
import SatSeekTestSupport

/// The release build (`swift build -c release --product satseek`, done by scripts/test.sh): its kernel targets are
/// compiled with `-Ounchecked`, so a bad query must be stopped by checks that survive it.
let releaseBinary = repositoryRoot.appendingPathComponent(".build/release/satseek")

/// Whether the release binary is there; under SATSEEK_REQUIRE_RELEASE=1 (CI) its absence is a failure.
let releaseBuilt: Bool = {
    if FileManager.default.isExecutableFile(atPath: releaseBinary.path) { return true }
    return ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_RELEASE"] == "1"
}()

@Suite("release build", .serialized)
struct ReleaseBuildTests {
    @Test(
        "a query vector of the wrong length is an error naming both lengths, not a crash or garbage",
        .enabled(if: weightsInstalled && releaseBuilt))
    func wrongDimensionQuery() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: releaseBinary.path),
            "no release build at \(releaseBinary.path): run `swift build -c release --product satseek`")
        let (root, data, db) = try sampleFolder(
            "release", classes: ["Beach", "Port"], perClass: 3, catalog: "release.satseek")
        defer { try? FileManager.default.removeItem(at: root) }
        let index = try await runSatSeek(["index", data.path, "--db", db, "--hnsw"], binary: releaseBinary)
        #expect(index.status == 0, "\(index.stderr)")

        func vectorFile(_ values: [Float]) throws -> String {
            let url = root.appendingPathComponent("q\(values.count).json")
            try JSONEncoder().encode(values).write(to: url)
            return url.path
        }
        for exact in [false, true] {
            let mode = exact ? ["--exact"] : []
            for wrong in [3, 1279, 1281, 5000] {
                let run = try await runSatSeek(
                    [
                        "search", "--db", db, "--vector", try vectorFile(Array(repeating: 0.1, count: wrong)),
                        "-k", "3"
                    ] + mode, binary: releaseBinary)
                #expect(run.status == 1, "length \(wrong) \(mode): status \(run.status)")
                #expect(
                    run.stderr.contains("query has \(wrong) values") && run.stderr.contains("1280"), "\(run.stderr)")
            }
            // The right length ranks every item.
            let right = try await runSatSeek(
                [
                    "search", "--db", db, "--vector", try vectorFile(Array(repeating: 0.02, count: 1280)),
                    "-k", "6", "--json"
                ] + mode, binary: releaseBinary)
            #expect(right.status == 0, "\(right.stderr)")
            let rows = try JSONSerialization.jsonObject(with: Data(right.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(rows.count == 6 && Set(rows.compactMap { $0["id"] as? Int }) == Set(1...6), "\(right.stdout)")
        }
        let notJSON = try await runSatSeek(["search", "--db", db, "--vector", db], binary: releaseBinary)
        #expect(notJSON.status == 1 && notJSON.stderr.contains("not a JSON array of numbers"), "\(notJSON.stderr)")
    }
}
