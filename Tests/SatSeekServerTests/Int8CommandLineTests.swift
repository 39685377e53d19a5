import Foundation
import SatSeekModels
import SatSeekTestSupport
import Testing

/// `calibrate`, then `index` and `search` with `--precision int8`, in a model store of the test's own (the user's
/// calibration is not touched): a file that does not decode is skipped, and a float32 search of the int8 index is
/// refused, naming both model ids.
@Suite(.serialized) struct Int8CommandLineTests {
    @Test(.enabled(if: weightsInstalled)) func calibrateIndexAndSearchInInt8() async throws {
        guard let binary = satseekExecutable() else { return }
        let root = try temporaryFolder("int8-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        let weights = try #require(ModelStore().checkpoint(for: try ModelStore.entry(named: "effnet-lite0")))
        try FileManager.default.createSymbolicLink(
            at: store.appendingPathComponent(weights.lastPathComponent), withDestinationURL: weights)
        let images = root.appendingPathComponent("images")
        try copySample(classes: ["Airport", "Port", "Forest"], perClass: 3, into: images)
        try Data(repeating: 0x5A, count: 2048).write(to: images.appendingPathComponent("Port/broken.jpg"))
        func satseek(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await runProcess(
                "/usr/bin/env", ["SATSEEK_MODEL_DIR=\(store.path)", binary.path] + arguments, timeout: 300)
        }

        let calibrate = try await satseek(["calibrate", images.path, "--images", "10"])
        #expect(
            calibrate.status == 0 && calibrate.output.contains("skipped") && calibrate.output.contains("broken.jpg"))
        #expect(
            calibrate.output.contains("on 9 images") && calibrate.output.contains("+int8.2@"), "\(calibrate.output)")
        #expect(
            FileManager.default.fileExists(atPath: store.appendingPathComponent("calibration/effnet-lite0.json").path))

        let db = root.appendingPathComponent("int8.satseek").path
        let index = try await satseek(["index", images.path, "--db", db, "--precision", "int8"])
        #expect(index.status == 0, "\(index.output)")
        let query =
            images.appendingPathComponent("Port").path + "/"
            + (try FileManager.default.contentsOfDirectory(atPath: images.appendingPathComponent("Port").path))
            .filter { $0.hasSuffix(".jpg") && $0 != "broken.jpg" }.sorted()[0]
        let search = try await satseek(["search", "--db", db, "--precision", "int8", "--image", query, "-k", "3"])
        #expect(search.status == 0 && search.output.contains("/Port/"), "\(search.output)")
        let float = try await satseek(["search", "--db", db, "--image", query])
        #expect(float.status != 0 && float.output.contains("+int8.2@"), "\(float.output)")
    }
}
