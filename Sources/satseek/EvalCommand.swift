import ArgumentParser
import Foundation
import SatSeekEvaluation
import SatSeekSearch
import SatSeekCatalog
import SatSeekModels
import SatSeekLearning

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Retrieval quality (mAP@K, P@K) on a labelled class-folder dataset: leave-one-out, or the MiLaN split with trained heads.",
        discussion: """
            Every image queries all the others; relevant = same class folder.
            AP@K = (1/min(K,R)) * sum over ranks i<=K of P@i * rel_i, R = other images of the query's class.
            The dataset is indexed first (incrementally, into --db or a cache file), so a second run is fast.
            --protocol split (MiLaN): each class is split with --seed into a training part (--split of it, the archive) \
            and a test part (the queries); rows: raw features, and for each --head its float embedding (cosine) and \
            binary codes (Hamming), with the search time per query.
              satseek eval DIR --protocol split --split 0.6 --seed 7 -k 20 --head h16.satseek-head --head h32.satseek-head
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(name: .short, help: "Cut-off rank K.")
    var k: Int = 20

    @OptionGroup var dataset: DatasetOptions

    @Option(
        name: .customLong("protocol"),
        help:
            "loo: leave-one-out over the whole dataset; split: MiLaN protocol, the held-out part queries the training part."
    )
    var evaluationProtocol: EvaluationProtocol = .loo

    @Option(help: "With --protocol split: fraction of every class in the training part (the archive).")
    var split: Double = 0.6

    @Option(help: "With --protocol split: seed of the per-class split (use the one the heads were trained with).")
    var seed: UInt64 = 7

    @Option(
        name: .customLong("head"),
        help: "With --protocol split: a trained head to evaluate (float embedding and codes); repeat for several.")
    var heads: [String] = []

    @Flag(help: "Print the evaluation as JSON on stdout.")
    var json = false

    enum EvaluationProtocol: String, ExpressibleByArgument, CaseIterable { case loo, split }

    func validate() throws {
        guard heads.isEmpty || evaluationProtocol == .split else {
            throw ValidationError("--head needs --protocol split")
        }
        guard split > 0, split < 1 else { throw ValidationError("--split must be between 0 and 1") }
    }

    func run() throws {
        try runReportingErrors {
            let session = try dataset.session(folder: folder)
            try dataset.index(folder, with: session.indexer())
            if evaluationProtocol == .split {
                return try runSplit(session: session)
            }
            let evaluation = try Evaluator.leaveOneOut(catalog: session.catalog, k: k)
            if json {
                try printJSON(evaluation)
                return
            }
            print(
                "dataset \(folder): \(evaluation.queries) queries, \(evaluation.classes) classes, model \(evaluation.modelID)"
            )
            print("class".padded(22) + "queries".padded(9) + "mAP@\(k)".padded(9) + "P@\(k)")
            func row(_ name: String, _ queries: Int, _ map: Double, _ precision: Double) {
                print(name.padded(22) + String(queries).padded(9) + String(format: "%.4f   %.4f", map, precision))
            }
            for c in evaluation.perClass { row(c.className, c.queries, c.meanAveragePrecision, c.precision) }
            row("ALL", evaluation.queries, evaluation.meanAveragePrecision, evaluation.precision)
            print(String(format: "chance level (fraction of relevant items): %.4f", evaluation.chanceLevel))
        }
    }

    static func cachePath(folder: String, model: String) throws -> String {
        let directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/satseek/eval")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        let safe = (absolute + "-" + model).map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return directory.appendingPathComponent(String(safe.suffix(120)) + ".satseek").path
    }
}

extension EvalCommand {
    /// `--protocol split`: raw features and every head under the MiLaN protocol.
    func runSplit(session: SearchSession) throws {
        let trained = try heads.map { try HeadFile.read($0, backboneModelID: session.model.modelID) }
        let evaluation = try SplitEvaluator.run(
            catalog: session.catalog, folder: folder, k: k, fraction: split,
            seed: seed, heads: trained)
        for warning in evaluation.warnings { printError("warning: \(warning)") }
        if json { return try printJSON(evaluation) }
        print(
            "dataset \(folder): \(evaluation.queries) queries (test part) against an archive of \(evaluation.archive) "
                + "(training part), \(evaluation.classes) classes, split \(split) seed \(seed), model \(evaluation.modelID)"
        )
        print(
            "representation".padded(38) + "bytes".padded(7) + "mAP@\(k)".padded(9) + "P@\(k)".padded(9)
                + "search µs/query  head µs/query")
        for row in evaluation.rows {
            let name: String
            switch row.representation {
            case "head codes": name = "head codes \(row.dimensions) bits [\(row.head ?? "")]"
            case "head float": name = "head float \(row.dimensions)-d [\(row.head ?? "")]"
            default: name = "raw features \(row.dimensions)-d"
            }
            print(
                name.padded(38) + String(row.bytesPerImage).padded(7)
                    + String(
                        format: "%.4f   %.4f   %10.1f  %13.1f", row.meanAveragePrecision, row.precision,
                        row.searchMicroseconds, row.encodeMicroseconds))
        }
        print(String(format: "chance level (fraction of relevant items): %.4f", evaluation.chanceLevel))
    }
}

/// `--model` and `--db` of the commands that evaluate on a class-folder dataset, and the indexing step they share.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Embedding model (see `satseek models`).")
    var model: String = ModelStore.defaultModel

    @Option(
        help: "Arithmetic of the image network: float32, or int8 (EfficientNet-Lite, after `satseek calibrate DIR`).")
    var precision: Precision = .float32

    @Option(help: "Index file to (re)use; default: a cache file under ~/.cache/satseek/eval.")
    var db: String?

    /// `--model` in `--precision`.
    var modelSpec: String { ModelStore.spec(model, int8: precision == .int8) }

    /// The session over `--db`, or the dataset's cache file for this model (in int8: and this int8 network revision
    /// and calibration, which end the model id — a new calibration gets a new cache file instead of a refusal).
    func session(folder: String) throws -> SearchSession {
        if let db { return try SearchSession(db: db, model: modelSpec, create: true) }
        guard precision == .int8 else {
            return try SearchSession(
                db: EvalCommand.cachePath(folder: folder, model: model), model: model, create: true)
        }
        let network = try ModelStore().load(modelSpec)
        // The int8 network's revision and calibration id (`int8.2@…`) name the file.
        let variant = network.modelID.split(separator: "+").last.map(String.init) ?? ""
        let path = try EvalCommand.cachePath(folder: folder, model: model + "-" + variant)
        return SearchSession(catalog: try Catalog(path: path, create: true), model: network)
    }

    /// Indexes the dataset incrementally with progress on stderr and lists the files it skipped.
    func index(_ folder: String, with indexer: Indexer) throws {
        let bar = ProgressPrinter()
        let report = try indexer.index(folder) { bar.show($0) }
        bar.finish()
        for failure in report.failures { printError("skipped \(failure.path): \(failure.reason)") }
    }
}
