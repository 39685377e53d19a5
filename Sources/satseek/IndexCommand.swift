import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekIndex
import SatSeekSearch
import SatSeekStore
import SatSeekModels

struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add the images under a folder to an index (new files added, unchanged ones skipped).",
        discussion:
            "Bad files (corrupt, truncated, not an image, too small) are listed with their reason and skipped; the exit status is 0 when the run itself completed."
    )

    @Argument(
        help:
            "Folder of images (class = parent folder name) or one image; with --tile a scene or folder of scenes; or a STAC catalog, collection or item (.json)."
    )
    var folder: String

    @OptionGroup var options: IndexOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Images stored per SQLite transaction (embedding streams on without waiting for a batch).")
    var batch: Int = 32

    @Flag(
        help:
            "Also store a sketch-domain embedding (edge rendering, multi-level features) per image, for `search --sketch`."
    )
    var sketchable = false

    @Option(
        name: .customLong("sketch-adapter"),
        help: ArgumentHelp(
            "Also store 14 window codes per image through this sketch adapter (from `satseek train-sketch`), for `search --sketch` matched window by window.",
            valueName: "file"))
    var sketchAdapter: String?

    @Option(
        name: .customLong("head"),
        help:
            "Also store this trained head's embedding per image (from `satseek train`), for `search --head`; repeat for several."
    )
    var heads: [String] = []

    @Option(
        name: .customLong("align"),
        help:
            "Also store this image→text alignment's mapping per image (from `satseek train-text`), for `search --text`; repeat for several."
    )
    var alignments: [String] = []

    @Flag(
        help: """
            Also store each image's likely ImageNet labels (the model's own classifier), so `search --text` works with \
            no training, and blends them in for words an --align alignment never saw (needs: satseek models install \
            all-minilm-l6-v2 imagenet-labels).
            """)
    var labelPrior = false

    @Flag(
        help:
            "Also build the HNSW graph file (<db>-hnsw.ssidx) that `search` then uses; once it exists, later runs keep it current."
    )
    var hnsw = false

    @Option(name: .customLong("hnsw-m"), help: "With --hnsw: links per node (layer 0 keeps twice as many).")
    var hnswM = 16

    @Option(help: "With --hnsw: beam width while building the graph.")
    var efConstruction = 200

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    @Flag(help: "Fail at once when another `index` run is writing to the catalog, instead of waiting for it.")
    var noWait = false

    @Option(help: "Cut georeferenced scenes (a .tif file or a folder of them) into TILE×TILE chips with footprints.")
    var tile: Int?

    @Option(help: "Step between chips in pixels with --tile (default: the tile size, no overlap).")
    var stride: Int?

    @Option(
        help:
            "Bands used as R,G,B with --tile, 1-based (e.g. 4,3,2; one band = grey). Default: RGB colour bands, else 1,2,3."
    )
    var bands: String?

    @Option(help: "With --tile: the scenes' acquisition date, YYYY-MM-DD (over metadata, STAC or file-name dates).")
    var date: String?

    @Option(help: "With a STAC catalog: the asset to tile in every item (default: the visual/RGB one).")
    var asset: String?

    func validate() throws {
        if let date, AcquisitionDate.parse(date) == nil {
            throw ValidationError("--date '\(date)' is not a date (YYYY-MM-DD or an ISO 8601 date-time)")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            // One writer per catalog: a second run waits here (the lock also covers creating the catalog).
            let lock = try CatalogWriterLock(catalogPath: options.db, wait: !noWait) { holder in
                printError("waiting for another indexing run on \(options.db) (\(holder)) to finish…")
            }
            defer { withExtendedLifetime(lock) {} }
            let session = try SearchSession(db: options.db, model: options.modelSpec, create: true)
            for table in session.catalog.repairedTables {
                printError(
                    "warning: \(options.db) had lost its '\(table)' table; recreated it, every image is re-embedded")
            }
            var indexer = try session.indexer()
            indexer.batchSize = max(1, batch)
            if sketchable { indexer.auxiliaries.append(try SketchAuxiliary(model: session.model)) }
            if let sketchAdapter {
                indexer.auxiliaries.append(try SketchRegionAuxiliary(model: session.model, adapterPath: sketchAdapter))
            }
            indexer.auxiliaries += try heads.map { try HeadAuxiliary(path: $0, backboneModelID: session.model.modelID) }
            indexer.auxiliaries += try alignments.map {
                try AlignmentAuxiliary(path: $0, imageModelID: session.model.modelID)
            }
            if labelPrior { indexer.auxiliaries.append(try labelPriorAuxiliary(model: session.model)) }
            let isSTAC = folder.lowercased().hasSuffix(".json")
            if let tile = tile ?? (isSTAC ? 224 : nil) {
                try runScenes(session: session, tile: tile, auxiliaries: indexer.auxiliaries)
            } else {
                try runFolder(session: session, indexer: indexer)
            }
            try await storeOptions.sync(catalog: session.catalog, json: json)
        }
    }

    /// The `--label-prior` codes' auxiliary. - Throws: when the model has no ImageNet classifier or an asset is
    /// missing.
    func labelPriorAuxiliary(model: any ImageEmbedder) throws -> LabelPriorAuxiliary {
        let store = ModelStore()
        let sentence = try store.sentenceEmbedder()
        guard let prior = try LabelPriorText.prior(for: model, textEmbedder: sentence, store: store) else {
            if store.imageNetLabelsFile == nil {
                throw ValidationError(
                    "--label-prior needs the ImageNet class names: satseek models install \(ModelStore.imageNetLabelsAssetName)"
                )
            }
            throw ValidationError("--label-prior: \(model.modelID) has no 1 000-way ImageNet classifier")
        }
        return LabelPriorAuxiliary(prior: prior, textModelID: sentence.modelID)
    }

    /// `index FOLDER`: one image an item.
    func runFolder(session: SearchSession, indexer: Indexer) throws {
        guard let (report, files) = try indexAndReport(session.catalog, { try indexer.index(folder, progress: $0) })
        else { return }
        print("indexed \(folder) into \(options.db) with \(session.model.modelID)")
        print(
            String(
                format: "  %d files: %d added, %d updated, %d unchanged, %d failed  (%.1f s, %.1f img/s)",
                report.scanned, report.added, report.updated, report.unchanged, report.failures.count,
                report.seconds, report.imagesPerSecond))
        for failure in report.failures {
            print("  skipped \(failure.path): \(failure.reason)")
        }
        print("  index now holds \(try session.catalog.count()) images")
        printIndexFiles(files)
    }

    /// Runs one indexing pass with a progress bar and brings the catalog's index files up to date; with `--json`
    /// prints the report and returns `nil`, else returns the report for the caller to print.
    func indexAndReport<Report: Encodable>(
        _ catalog: Catalog, _ index: ((ProgressSnapshot) -> Void) throws -> Report
    ) throws -> (Report, [CatalogIndexFile.Outcome])? {
        let bar = ProgressPrinter()
        let report = try index { bar.show($0) }
        bar.finish()
        let files = try updateIndexFiles(catalog)
        if json {
            try printJSON(ReportWithIndexFiles(report: report, indexFiles: files))
            return nil
        }
        return (report, files)
    }

    /// Brings the catalog's index files up to date (the library's job; this only reports HNSW progress).
    func updateIndexFiles(_ catalog: Catalog) throws -> [CatalogIndexFile.Outcome] {
        let parameters = HNSWIndex.Parameters(M: max(2, hnswM), efConstruction: efConstruction)
        let started = Date()
        var last = Date.distantPast
        return try CatalogIndexFile.refreshAll(catalog: catalog, hnsw: hnsw ? parameters : nil) { done, total in
            guard Date().timeIntervalSince(last) > 2 || done == total else { return }
            last = Date()
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-6)
            printError(
                String(
                    format: "hnsw: %d/%d vectors linked, %.0f/s, ETA %.0f s",
                    done, total, rate, Double(total - done) / max(rate, 1e-6)))
        }
    }

    func printIndexFiles(_ outcomes: [CatalogIndexFile.Outcome]) {
        for outcome in outcomes {
            let what =
                ["current": "up to date", "written": "written", "updated": "updated"][outcome.action] ?? "NOT saved"
            let detail = ["memory", "updated"].contains(outcome.action) ? " — \(outcome.reason ?? "")" : ""
            print(
                String(
                    format: "  %@ index file %@: %@ (%d vectors, %.1f s)", outcome.kind, outcome.path, what,
                    outcome.vectors, outcome.seconds) + detail)
        }
    }
}

/// A command's report with the index files it refreshed, encoded as one flat JSON object.
struct ReportWithIndexFiles<Report: Encodable>: Encodable {
    let report: Report
    let indexFiles: [CatalogIndexFile.Outcome]

    private enum Keys: String, CodingKey { case indexFiles }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(indexFiles, forKey: .indexFiles)
    }
}

/// Draws a one-line progress bar on stderr (redrawn in place on a terminal, every few seconds otherwise).
final class ProgressPrinter {
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastPrint = Date.distantPast
    private var lastLine = ""
    /// What the rate counts: `img` (images) unless told otherwise.
    private let unit: String

    init(unit: String = "img") { self.unit = unit }

    func show(_ snapshot: ProgressSnapshot) {
        lastLine = snapshot.line(unit: unit)
        if interactive {
            printError("\r" + lastLine, terminator: "")
        } else if Date().timeIntervalSince(lastPrint) > 5 {
            printError(lastLine)
            lastPrint = Date()
        }
    }

    func finish() {
        if interactive { printError("") } else if !lastLine.isEmpty { printError(lastLine) }
    }
}
