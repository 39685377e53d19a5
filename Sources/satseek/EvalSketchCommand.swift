import ArgumentParser
import Foundation
import SatSeekEvaluation
import SatSeekLearning
import SatSeekSearch
import SatSeekModels
import SatSeekSketch

struct EvalSketchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-sketch",
        abstract: "Zero-shot sketch→image retrieval quality (mAP@K, P@K) beside image→image and a random ranking.",
        discussion: """
            The dataset is indexed with sketch embeddings first (incrementally, into --db or a cache file).

            Without --sketches, every image in turn is held out and a sketch-like query is synthesised from it \
            (edge map; segments dropped with p ~ U(0.15, 0.35); stroke jitter; small affine warp; pen 1-5 px), \
            seeded by --seed and the image's class/file name, and searched against all OTHER images.

            With --sketches FOLDER, each image there is a query against the whole archive; its class is its \
            sub-folder, or else the archive class its file name starts with (Airport_2.png, storage-tanks-1.png).

            Relevant = same class. AP@K = (1/min(K,R)) * sum over ranks i<=K of P@i * rel_i. The image column is \
            leave-one-out image->image retrieval over the same archive; the random column a seeded shuffle.
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(help: "Seed of the query synthesiser and the random baseline.")
    var seed: UInt64 = 3

    @Option(name: .short, help: "Cut-off rank K.")
    var k: Int = 20

    @Option(help: "Folder of real sketches named by class (instead of synthetic queries).")
    var sketches: String?

    @Option(
        help: "Query copies tried, best score kept: none, quarterTurns (0/90/180/270°) or dihedral (also mirrored).")
    var rotations: SketchRotations = .dihedral

    @Option(
        help: ArgumentHelp(
            "Ablation: backbone levels pooled into the sketch descriptor, e.g. `head` or `2,3,5,7,head` (the default); archive sketch embeddings are then recomputed in memory.",
            valueName: "levels"))
    var levels: String?

    @Option(
        help: ArgumentHelp(
            "Match sketches with tile windows through this adapter (from `satseek train-sketch`) instead of the zero-shot whole-tile descriptor.",
            valueName: "file"))
    var adapter: String?

    @Option(help: "Style of the synthetic queries: edge-trace (the style train-sketch learns from) or contours.")
    var generator: SyntheticSketchStyle = .edgeTrace

    @Flag(help: "Ablation: do not centre sketch embeddings on the archive mean.")
    var uncentred = false

    @OptionGroup var dataset: DatasetOptions

    @Flag(help: "Print the evaluation as JSON on stdout.")
    var json = false

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
        _ = try featureLevels()
    }

    /// `--levels` parsed: stage numbers 1…7 and `head`.
    func featureLevels() throws -> [FeatureLevel]? {
        guard let levels else { return nil }
        let parsed = levels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map {
            item -> FeatureLevel? in
            if item == "head" { return .head }
            return Int(item).flatMap { (1...7).contains($0) ? .stage($0) : nil }
        }
        guard !parsed.isEmpty, !parsed.contains(where: { $0 == nil }), Set(parsed).count == parsed.count else {
            throw ValidationError(
                "--levels: give distinct stage numbers 1-7 and/or `head`, comma-separated (got \(levels))")
        }
        return parsed.map { $0! }
    }

    func run() throws {
        try runReportingErrors {
            let session = try dataset.session(folder: folder)
            var indexer = try session.indexer()
            let regions = try adapter.map { try SketchRegionAuxiliary(model: session.model, adapterPath: $0) }
            indexer.auxiliaries.append(try regions ?? SketchAuxiliary(model: session.model))
            try dataset.index(folder, with: indexer)

            var evaluator = try SketchEvaluator(catalog: session.catalog, model: session.model, k: k, seed: seed)
            evaluator.rotations = rotations
            evaluator.centred = !uncentred
            evaluator.adapter = regions?.adapter
            evaluator.generator = generator
            if let levels = try featureLevels() { evaluator.embedder.spec = MultiLevelSpec(levels: levels) }
            let bar = ProgressPrinter()
            let result =
                try sketches.map { folder in try evaluator.evaluateSketches(in: folder) { bar.show($0) } }
                ?? evaluator.evaluateSynthetic { bar.show($0) }
            bar.finish()
            for line in result.skipped { printError("skipped \(line)") }
            if json {
                try printJSON(result)
                return
            }
            let queryKind =
                sketches == nil
                ? "synthetic \(generator.rawValue) sketch queries (seed \(seed))" : "sketches from \(result.source)"
            print(
                "dataset \(folder): \(result.queries) \(queryKind), \(result.classes) classes, archive \(result.archiveSize) images, model \(result.modelID)"
            )
            if let adapter = regions?.adapter {
                print(
                    "matcher: \(RegionGrid.standard.count) windows per tile through adapter \(adapter.header.id) (\(adapter.header.sharedDimensions)-d, trained on \(adapter.header.images) images, \(adapter.header.generator) drawings)"
                )
            } else {
                print(
                    "sketch descriptor: \(evaluator.embedder.spec.levels.map(\.description).joined(separator: "+")) (\(evaluator.embedder.dimensions)-d), rotations \(rotations.rawValue), \(uncentred ? "not centred" : "centred on the archive mean")"
                )
            }
            print(
                "class".padded(20) + "queries".padded(9) + "sketch mAP@\(k)  P@\(k)".padded(22)
                    + "image mAP@\(k)  P@\(k)".padded(22) + "random mAP@\(k)  P@\(k)")
            func cells(_ s: SketchEvaluation.Score) -> String {
                String(format: "%.4f      %.4f", s.meanAveragePrecision, s.precision).padded(22)
            }
            for c in result.perClass {
                print(
                    c.className.padded(20) + String(c.queries).padded(9) + cells(c.sketch) + cells(c.image)
                        + cells(c.random))
            }
            print(
                "ALL".padded(20) + String(result.queries).padded(9) + cells(result.sketch) + cells(result.image)
                    + cells(result.random))
            print(
                String(
                    format: "chance level (fraction of relevant items): %.4f; blank sketch queries: %d; %.1f s",
                    result.chanceLevel, result.emptyQueries, result.seconds))
        }
    }
}

extension SketchRotations: ExpressibleByArgument {}
extension SyntheticSketchStyle: ExpressibleByArgument {}
