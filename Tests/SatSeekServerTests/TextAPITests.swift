import Foundation
import Testing
import SatSeekLearning
import SatSeekModels
import SatSeekSearch
@testable import SatSeekServer

/// `GET /api/search/text` over an index with an image→sentence alignment (needs effnet-lite0 and MiniLM).
@Suite struct TextAPITests {
    @Test(.enabled(if: weightsInstalled)) func sentenceQueriesRankTheMatchingClassFirst() async throws {
        let store = ModelStore()
        guard store.miniLMDirectory != nil else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
                Issue.record("all-minilm-l6-v2 is not installed; run `satseek models install all-minilm-l6-v2`")
            }
            return
        }
        let folder = try temporaryFolder("text-api")
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = folder.appendingPathComponent("images")
        for name in ["Beach", "Forest", "Port"] {
            let source = sharedData.appendingPathComponent("datasets/aid-mini/\(name)")
            let target = images.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: source.path).sorted().prefix(4) {
                try FileManager.default.copyItem(
                    at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
            }
        }
        let session = try SearchSession(
            db: folder.appendingPathComponent("t.satseek").path,
            model: ModelStore.defaultModel, create: true)
        let align = folder.appendingPathComponent("a.satseek-align").path
        var configuration = AlignmentConfiguration()
        configuration.steps = 120
        _ = try TextAlignmentWorkflow.run(
            session: session, folder: images.path, textEmbedder: try store.sentenceEmbedder(),
            configuration: configuration, output: align,
            indexProgress: { _ in }, trainingProgress: { _, _ in })
        var indexer = try session.indexer()
        indexer.auxiliaries = [try AlignmentAuxiliary(path: align, imageModelID: session.model.modelID)]
        _ = try indexer.index(images.path)

        let server = try SatSeekServer(session: session, configuration: ServerConfiguration(port: 0))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task.detached { try await server.run { port in continuation.yield(port) } }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let base = "http://127.0.0.1:\(port)"

        let modes = try #require(try await http(base + "/api/info").json()["modes"] as? [String: Bool])
        #expect(modes["text"] == true)
        let body = try await http(
            base + "/api/search/text?q=" + "ships docked in a harbor"
                .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)! + "&k=4"
        ).json()
        let results = try #require(body["results"] as? [[String: Any]])
        #expect(body["mode"] as? String == "text" && results.count == 4)
        let classes = results.compactMap { ($0["item"] as? [String: Any])?["className"] as? String }
        #expect(classes.prefix(3).allSatisfy { $0 == "Port" }, "\(classes)")
        // A composed query: a Forest item modified by the harbour sentence.
        let forest = try #require(try session.catalog.allRecords().first { $0.className == "Forest" }?.id)
        let composed = try await http(
            base + "/api/search/text?q=" + "ships docked in a harbor"
                .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!
                + "&item=\(forest)&text_weight=0.75&k=4"
        ).json()
        let composedResults = try #require(composed["results"] as? [[String: Any]])
        #expect(composed["mode"] as? String == "composed" && composedResults.count == 4)
        let composedClasses = composedResults.compactMap { ($0["item"] as? [String: Any])?["className"] as? String }
        #expect(composedClasses.prefix(3).allSatisfy { $0 == "Port" }, "\(composedClasses)")
        let imageSide = try await http(base + "/api/search/text?q=ships&item=\(forest)&text_weight=0&k=3").json()
        let imageClasses = (imageSide["results"] as? [[String: Any]] ?? []).compactMap {
            ($0["item"] as? [String: Any])?["className"] as? String
        }
        #expect(imageClasses == ["Forest", "Forest", "Forest"], "\(imageClasses)")
        #expect(try await http(base + "/api/search/text?q=ships&item=\(forest)&text_weight=2").status == 400)
        #expect(try await http(base + "/api/search/text?q=ships&text_weight=0.5").status == 400)
        #expect(try await http(base + "/api/search/text?q=").status == 400)

        // The same composed query from the page (deep link), in headless Chromium when it is installed.
        if let chromium = BrowserTests.chromium {
            let profile = try temporaryFolder("chromium-composed")
            defer { try? FileManager.default.removeItem(at: profile) }
            let page =
                base + "/?k=4&item=\(forest)&text_weight=0.75&text="
                + "ships docked in a harbor".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let dump = try await runProcess(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--user-data-dir=\(profile.path)", "--virtual-time-budget=20000", "--dump-dom", page
                ], timeout: 180)
            let dom = dump.output
            #expect(dom.contains("data-state=\"done\""), "the composed query did not finish: \(dom.suffix(1500))")
            #expect(dom.components(separatedBy: "class=\"tile result-tile\"").count - 1 == 4)
            #expect(dom.components(separatedBy: "data-class-name=\"Port\"").count - 1 >= 3, "\(dom.suffix(3000))")
            #expect(dom.contains("<b id=\"compose-item\">#\(forest)</b>"), "the page offers to modify the item")
        } else if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_BROWSER"] != nil {
            Issue.record("chromium is not installed; run scripts/install-system-deps.sh")
        }
        #expect(try await http(base + "/api/search/text?q=forest&k=0").status == 400)
    }

    /// A server started on an index without a text side: the mode is off; `index` with an alignment beside it
    /// turns it on, and items indexed while it runs are found by text queries (the text searcher once kept the
    /// vectors it first loaded for the process's life).
    @Test(.enabled(if: weightsInstalled)) func aRunningServerSeesAlignedItemsIndexedAfterItStarted() async throws {
        let store = ModelStore()
        guard store.miniLMDirectory != nil else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
                Issue.record("all-minilm-l6-v2 is not installed; run `satseek models install all-minilm-l6-v2`")
            }
            return
        }
        let folder = try temporaryFolder("text-live")
        defer { try? FileManager.default.removeItem(at: folder) }
        // The alignment is learnt in a catalog of its own; the served one starts without Port and without text.
        let all = folder.appendingPathComponent("all"), served = folder.appendingPathComponent("served")
        let port = folder.appendingPathComponent("port")
        for name in ["Beach", "Forest", "Port"] {
            let source = sharedData.appendingPathComponent("datasets/aid-mini/\(name)")
            for file in try FileManager.default.contentsOfDirectory(atPath: source.path).sorted().prefix(4) {
                for root in [all, name == "Port" ? port : served] {
                    let target = root.appendingPathComponent(name)
                    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(
                        at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
                }
            }
        }
        let align = folder.appendingPathComponent("a.satseek-align").path
        var configuration = AlignmentConfiguration()
        configuration.steps = 120
        _ = try TextAlignmentWorkflow.run(
            session: try SearchSession(
                db: folder.appendingPathComponent("all.satseek").path, model: ModelStore.defaultModel, create: true),
            folder: all.path, textEmbedder: try store.sentenceEmbedder(), configuration: configuration, output: align,
            indexProgress: { _ in }, trainingProgress: { _, _ in })

        let session = try SearchSession(
            db: folder.appendingPathComponent("served.satseek").path, model: ModelStore.defaultModel, create: true)
        _ = try session.indexer().index(served.path)
        let server = try SatSeekServer(session: session, configuration: ServerConfiguration(port: 0))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task.detached { try await server.run { port in continuation.yield(port) } }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let base = "http://127.0.0.1:\(try #require(await iterator.next()))"
        func textMode() async throws -> Bool? {
            (try await http(base + "/api/info").json()["modes"] as? [String: Bool])?["text"]
        }
        let query =
            base + "/api/search/text?k=3&q=" + "ships docked in a harbor"
            .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!
        #expect(try await textMode() == false)
        #expect(try await http(query).status == 404)

        // `index --align` on the served catalog: its 8 items gain aligned vectors; the mode turns on.
        var indexer = try session.indexer()
        indexer.auxiliaries = [try AlignmentAuxiliary(path: align, imageModelID: session.model.modelID)]
        let aligned = indexer
        try await offCooperativePool { _ = try aligned.index(served.path) }
        #expect(try await textMode() == true)
        let before = try await http(query).json()["results"] as? [[String: Any]] ?? []
        #expect(before.count == 3)
        func classes(_ results: [[String: Any]]) -> [String] {
            results.compactMap { ($0["item"] as? [String: Any])?["className"] as? String }
        }
        #expect(!classes(before).contains("Port"))

        // Port tiles indexed while the server runs are what the harbour sentence finds.
        try await offCooperativePool { _ = try aligned.index(port.path) }
        let after = try await http(query).json()["results"] as? [[String: Any]] ?? []
        #expect(classes(after) == ["Port", "Port", "Port"], "\(classes(after))")
    }
}

/// Runs blocking work (an `index` run) on a Dispatch thread, so that it does not hold one of the few cooperative
/// threads the served requests need while other suites load the machine.
func offCooperativePool(_ work: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
