import Foundation
import Testing
import SatSeekGeo
import SatSeekImaging

/// A `satseek serve` child process on a free port; terminated by ``stop()``.
final class ServeProcess: @unchecked Sendable {
    let child: SpawnedProcess
    let port: Int

    init(binary: URL, db: String, arguments: [String] = []) throws {
        child = try SpawnedProcess(binary.path, ["serve", "--db", db, "--port", "0"] + arguments)
        // The "serving … on http://127.0.0.1:PORT/" line.
        guard let line = child.waitForMatch(#"http://127\.0\.0\.1:(\d+)/"#, timeout: 120),
            let found = Int(line.split(separator: ":").last!.dropLast())
        else {
            let text = child.stderr
            child.stop()
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "serve did not start: \(text)"])
        }
        port = found
    }

    /// Starts `satseek serve` on a thread of its own (start-up blocks until the port is printed).
    static func start(binary: URL, db: String, arguments: [String] = []) async throws -> ServeProcess {
        try await onOwnThread { try ServeProcess(binary: binary, db: db, arguments: arguments) }
    }

    func stop() {
        if !child.stop() { Issue.record("satseek serve ignored SIGTERM") }
    }
}

/// Runs a program and returns its status and standard output (standard error discarded).
func runForStdout(_ executable: URL, _ arguments: [String]) async throws -> (status: Int32, stdout: String) {
    let run = try await runChild(executable.path, arguments)
    return (run.status, run.stdout)
}

@Suite(.serialized) struct CommandLineGeoTests {
    /// `index SCENE --tile --stride --bands --json`, re-run skips everything, then `serve` answers on a free port.
    @Test(.enabled(if: weightsInstalled)) func indexTileThenServe() async throws {
        guard let binary = satseekExecutable() else { return }
        let root = try temporaryFolder("cli-geo")
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("geo.satseek").path
        let arguments = [
            "index", landsatScene, "--db", db, "--tile", "128", "--stride", "128", "--bands", "3,2,1", "--json"
        ]
        let first = try await runForStdout(binary, arguments)
        #expect(first.status == 0, "\(first.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect(report["windows"] as? Int == 10 && report["scenes"] as? Int == 1)
        #expect((report["added"] as? Int ?? 0) + (report["nodataSkipped"] as? Int ?? 0) == 10)
        let again = try await runForStdout(binary, arguments)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(second["unchanged"] as? Int == report["added"] as? Int && second["added"] as? Int == 0)

        let bad = try await runProcess(
            binary.path, ["index", landsatScene, "--db", db, "--tile", "128", "--bands", "9"])
        #expect(bad.status != 0 || bad.output.contains("band 9"), "\(bad.output)")

        let server = try await ServeProcess.start(binary: binary, db: db)
        defer { server.stop() }
        let info = try await http("http://127.0.0.1:\(server.port)/api/info").json()
        #expect(info["items"] as? Int == report["added"] as? Int)
        let item = try await http("http://127.0.0.1:\(server.port)/api/items/1").json()
        #expect((item["footprint"] as? [[Double]])?.count == 9)
    }

    /// A running server offers sketch mode once `index` adds sketch embeddings to its catalog, and a drawn sketch
    /// is then searchable; window codes added later are used as soon as they are there.
    @Test(.enabled(if: weightsInstalled)) func sketchModeAppearsOnlyWithSketchEmbeddings() async throws {
        guard let binary = satseekExecutable() else { return }
        let root = try temporaryFolder("cli-sketch")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data/Beach")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let source = sharedData.appendingPathComponent("datasets/aid-mini/Beach")
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path).sorted().prefix(3) {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(file), to: data.appendingPathComponent(file))
        }
        let db = root.appendingPathComponent("sketch.satseek").path
        let plain = try await runProcess(binary.path, ["index", data.path, "--db", db], timeout: 300)
        #expect(plain.status == 0, "\(plain.output)")

        let server = try await ServeProcess.start(binary: binary, db: db)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        // A white canvas with a dark diagonal stroke, as the UI's canvas sends it.
        var pixels = [UInt8](repeating: 255, count: 128 * 128 * 3)
        for i in 10..<118 { for d in -2...2 { let x = i + d; for c in 0..<3 { pixels[3 * (i * 128 + x) + c] = 0 } } }
        let png = try ImageEncoder.encode(RGBImage(width: 128, height: 128, pixels: pixels), as: .png)
        #expect((try await http(base + "/api/info").json()["modes"] as? [String: Bool])?["sketch"] == false)
        let refused = try await http(
            base + "/api/search/sketch?k=2", method: "POST", body: png, contentType: "image/png")
        #expect(refused.status == 404, "\(refused.text)")

        let index = try await runProcess(binary.path, ["index", data.path, "--db", db, "--sketchable"], timeout: 300)
        #expect(index.status == 0, "\(index.output)")
        let info = try await http(base + "/api/info").json()
        #expect((info["modes"] as? [String: Bool])?["sketch"] == true)
        let answer = try await http(
            base + "/api/search/sketch?k=2", method: "POST", body: png, contentType: "image/png")
        #expect(answer.status == 200, "\(answer.text)")
        let zeroShot = try answer.json()["results"] as? [[String: Any]] ?? []
        #expect(zeroShot.count == 2 && zeroShot.allSatisfy { $0["region"] == nil })

        // A sketch adapter learnt from the same (unlabelled) images: the index gains window codes, searches
        // switch to them and every result names the window that matched.
        let adapter = root.appendingPathComponent("beach.satseek-sketch").path
        let train = try await runProcess(
            binary.path,
            ["train-sketch", data.path, "--out", adapter, "--images", "3", "--steps", "20", "--dimensions", "16"],
            timeout: 300)
        #expect(train.status == 0 && FileManager.default.fileExists(atPath: adapter), "\(train.output)")
        let reindex = try await runProcess(
            binary.path, ["index", data.path, "--db", db, "--sketch-adapter", adapter], timeout: 300)
        #expect(reindex.status == 0, "\(reindex.output)")
        let windowed = try await http(
            base + "/api/search/sketch?k=3", method: "POST", body: png, contentType: "image/png")
        let results = try windowed.json()["results"] as? [[String: Any]] ?? []
        #expect(results.count == 3, "\(windowed.text)")
        for result in results {
            let box = result["region"] as? [Double] ?? []
            #expect(box.count == 4 && box.allSatisfy { (0...1).contains($0) } && box[0] + box[2] <= 1.0001, "\(result)")
        }
    }
}
