import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Leave-one-out retrieval quality (mAP@K, P@K) on a labelled class-folder dataset.",
        discussion: """
        Every image queries all the others; relevant = same class folder.
        AP@K = (1/min(K,R)) * sum over ranks i<=K of P@i * rel_i, R = other images of the query's class.
        The dataset is indexed first (incrementally, into --db or a cache file), so a second run is fast.
        """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(name: .short, help: "Cut-off rank K.")
    var k: Int = 20

    @Option(help: "Embedding model (see `satseek models`).")
    var model: String = ModelStore.defaultModel

    @Option(help: "Index file to (re)use; default: a cache file under ~/.cache/satseek/eval.")
    var db: String?

    @Flag(help: "Print the evaluation as JSON on stdout.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let dbPath = try db ?? Self.cachePath(folder: folder, model: model)
            let session = try SearchSession(db: dbPath, model: model, create: true)
            let bar = ProgressPrinter()
            let report = try session.indexer().index(folder) { bar.show($0) }
            bar.finish()
            for failure in report.failures { printError("skipped \(failure.path): \(failure.reason)") }
            let evaluation = try Evaluator.leaveOneOut(catalog: session.catalog, k: k)
            if json {
                try printJSON(evaluation)
                return
            }
            print("dataset \(folder): \(evaluation.queries) queries, \(evaluation.classes) classes, model \(evaluation.modelID)")
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
