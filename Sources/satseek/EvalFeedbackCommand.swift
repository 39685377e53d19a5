import ArgumentParser
import Foundation
import SatSeekLearning
import SatSeekModels
import SatSeekEvaluation
import SatSeekSearch

struct EvalFeedbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-feedback",
        abstract:
            "Relevance-feedback quality: a simulated analyst labels results round by round; full-ranking mAP and R-precision per learner.",
        discussion: """
            The dataset is indexed first (incrementally, into --db or a cache file).
            Queries are drawn with --seed (or all items). Round 0 ranks the archive by the single query image. In each \
            round the simulated analyst inspects the top --per-round items of the current ranking that are not labelled \
            yet and labels each +1 when it has the query's class, else -1; the learner re-ranks the whole archive from \
            the query and every label so far. After every round: AP over the full ranking of the archive (every item \
            but the query, labelled ones included where the learner puts them; relevant = same class; normalised by \
            the number of relevant items) and R-precision, averaged over queries; beside the single-image and a \
            random ranking.
              satseek eval-feedback ../shared/datasets/aid-mini --rounds 3 --per-round 20 --queries 300 --seed 1
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(help: "Feedback rounds after the single-image ranking.")
    var rounds: Int = 3

    @Option(name: .customLong("per-round"), help: "Items the simulated analyst labels per round.")
    var perRound: Int = 20

    @Option(help: "Number of query items drawn with --seed (default: every item).")
    var queries: Int?

    @Option(help: "Seed of the query draw, the random baseline and the background samples.")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("learner"),
        help: "Learner to evaluate: rocchio, logistic or auto (repeat; default: all three).")
    var learners: [FeedbackLearner] = []

    @Flag(help: "Ablation: do not centre embeddings on the archive mean.")
    var uncentred = false

    @Option(help: "Ablation: logistic regression's L2 strength.")
    var l2: Double?

    @Option(
        name: .customLong("background-share"),
        help: "Ablation: share of the negative weight on unlabelled archive samples.")
    var backgroundShare: Double?

    @Option(name: .customLong("background-size"), help: "Ablation: unlabelled archive samples drawn as weak negatives.")
    var backgroundSize: Int?

    @Option(name: .customLong("negative-weight"), help: "Ablation: Rocchio's weight of the negatives' mean.")
    var negativeWeight: Float?

    @Option(help: "Ablation: gradient steps of the logistic fit.")
    var iterations: Int?

    @OptionGroup var dataset: DatasetOptions

    @Flag(help: "Print the evaluation as JSON on stdout.")
    var json = false

    func validate() throws {
        guard rounds >= 0, rounds <= 50 else { throw ValidationError("--rounds must be 0…50") }
        guard perRound > 0 else { throw ValidationError("--per-round must be positive") }
        if let queries, queries <= 0 { throw ValidationError("--queries must be positive") }
    }

    func run() throws {
        try runReportingErrors {
            let session = try dataset.session(folder: folder)
            try dataset.index(folder, with: session.indexer())
            var settings = RelevanceFeedback.Settings()
            if let l2 { settings.l2 = l2 }
            if let backgroundShare { settings.backgroundShare = backgroundShare }
            if let backgroundSize { settings.backgroundSize = max(0, backgroundSize) }
            if let negativeWeight { settings.negativeWeight = negativeWeight }
            if let iterations { settings.iterations = max(1, iterations) }
            let evaluation = try FeedbackEvaluator.run(
                catalog: session.catalog, rounds: rounds, perRound: perRound, queries: queries, seed: seed,
                learners: learners.isEmpty ? FeedbackLearner.allCases : learners, centre: !uncentred, settings: settings
            )
            if json { return try printJSON(evaluation) }
            print(
                "dataset \(folder): \(evaluation.items) items, \(evaluation.classes) classes, \(evaluation.queries) queries, "
                    + "\(perRound) labels per round, seed \(seed), model \(evaluation.modelID)"
                    + (evaluation.centred ? ", centred" : ""))
            print("method".padded(14) + "round".padded(7) + "mAP".padded(9) + "R-prec".padded(9) + "ms/ranking")
            for row in evaluation.rows {
                print(
                    row.method.padded(14) + String(row.round).padded(7)
                        + String(
                            format: "%.4f   %.4f   %.2f", row.meanAveragePrecision, row.rPrecision,
                            row.millisecondsPerRanking))
            }
        }
    }
}

extension FeedbackLearner: ExpressibleByArgument {}
