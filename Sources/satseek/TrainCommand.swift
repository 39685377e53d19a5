import ArgumentParser
import Foundation
import SatSeekLearning
import SatSeekModels
import SatSeekEvaluation
import SatSeekSearch

extension TripletMining: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a hashing head (MiLaN-style metric learning) on a labelled class-folder dataset.",
        discussion: """
            The dataset is indexed first (backbone embeddings cached in --db, so re-runs are fast), then split per \
            class with --seed: --split of every class trains the head, the rest is held out. A small MLP \
            (backbone → hidden layers with ReLU → tanh codes) is trained on the frozen embeddings with a triplet loss \
            mined inside class-balanced batches (P classes × K images), a push-to-binary loss and a bit-balance loss, \
            using Adam with decoupled weight decay. Every epoch prints the loss terms and the held-out mAP@K (test part \
            queries the training part). With --float the head instead learns an L2-normalised float embedding.
            Use the head with: satseek index DIR --head FILE, satseek search --head FILE, \
            satseek eval DIR --protocol split --head FILE.
              satseek train ../shared/datasets/aid-mini --bits 32 --out aid-32.satseek-head
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image> (or give --collection with --db).")
    var folder: String?

    @Option(help: "Train on a collection's labels (relevant vs not) in --db instead of a class-folder dataset.")
    var collection: String?

    @Option(help: "Code length in bits (or embedding size with --float).")
    var bits: Int = 32

    @Option(help: "Training epochs (one epoch ≈ every training image seen once).")
    var epochs: Int = TrainingConfiguration().epochs

    @Option(help: "Fraction of every class used for training; the rest is the held-out test part.")
    var split: Double = 0.6

    @Option(help: "Seed of the split, the initialisation and the batch order.")
    var seed: UInt64 = 7

    @Option(help: "Hidden layer widths, comma-separated (e.g. 512,256).")
    var hidden: String = TrainingConfiguration().hiddenSizes.map(String.init).joined(separator: ",")

    @Flag(
        name: .customLong("float"),
        help: "Learn a float metric embedding (L2-normalised, cosine) instead of binary codes.")
    var floatEmbedding = false

    @Option(help: "Output head file (written atomically).")
    var out: String

    @OptionGroup var dataset: DatasetOptions

    @Option(name: .short, help: "Cut-off rank K of the held-out mAP@K.")
    var k: Int = 20

    @Option(name: .customLong("lr"), help: "Adam learning rate (cosine-decayed to a tenth).")
    var learningRate: Float = TrainingConfiguration().learningRate

    @Option(help: "Decoupled weight decay of the weight matrices.")
    var weightDecay: Float = TrainingConfiguration().weightDecay

    @Option(help: "Triplet margin (distances scaled to [0, 4]).")
    var margin: Float = TrainingConfiguration().margin

    @Option(help: "Triplet mining inside each batch: semi-hard or hard.")
    var mining: TripletMining = TrainingConfiguration().mining

    @Option(help: "Weight of the push-to-binary loss.")
    var pushWeight: Float = TrainingConfiguration().pushWeight

    @Option(help: "Weight of the bit-balance loss.")
    var balanceWeight: Float = TrainingConfiguration().balanceWeight

    @Option(help: "P: classes per batch.")
    var batchClasses: Int = TrainingConfiguration().classesPerBatch

    @Option(help: "K: images per class in a batch.")
    var batchImages: Int = TrainingConfiguration().imagesPerClass

    @Option(help: "Batches per epoch (default: training images / batch size).")
    var batchesPerEpoch: Int?

    @Flag(help: "Print the training report as JSON on stdout.")
    var json = false

    func validate() throws {
        guard split > 0, split < 1 else { throw ValidationError("--split must be between 0 and 1") }
        guard bits > 0, epochs > 0, k > 0 else { throw ValidationError("--bits, --epochs and -k must be positive") }
        _ = try hiddenSizes()
    }

    func hiddenSizes() throws -> [Int] {
        let parts = hidden.split(separator: ",", omittingEmptySubsequences: true)
        let sizes = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count == parts.count, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden must be positive integers separated by commas (got '\(hidden)')")
        }
        return sizes
    }

    func run() throws {
        try runReportingErrors {
            var configuration = TrainingConfiguration()
            configuration.hiddenSizes = try hiddenSizes()
            configuration.bits = bits
            configuration.output = floatEmbedding ? .float : .codes
            configuration.epochs = epochs
            configuration.seed = seed
            configuration.learningRate = learningRate
            configuration.weightDecay = weightDecay
            configuration.margin = margin
            configuration.mining = mining
            configuration.pushWeight = pushWeight
            configuration.balanceWeight = balanceWeight
            configuration.classesPerBatch = batchClasses
            configuration.imagesPerClass = batchImages
            configuration.batchesPerEpoch = batchesPerEpoch
            try configuration.validate()

            let report: HeadTrainingReport
            if let collection {
                guard let db = dataset.db else {
                    throw ValidationError("--collection needs --db (the catalog holding the collection)")
                }
                let session = try SearchSession(db: db, model: dataset.modelSpec, create: false)
                let features = try LabelledFeatures.load(catalog: session.catalog, collection: collection)
                report = try HeadTrainingWorkflow.train(
                    features: features, dataset: "collection:\(collection)", configuration: configuration,
                    splitFraction: split, k: k, output: out, epochProgress: { printError($0.line()) })
                return try printReport(report)
            }
            guard let folder else { throw ValidationError("give a class-folder dataset or --collection NAME") }
            let session = try dataset.session(folder: folder)
            let bar = ProgressPrinter()
            var indexingDone = false
            report = try HeadTrainingWorkflow.run(
                session: session, folder: folder, configuration: configuration, splitFraction: split, k: k, output: out,
                indexProgress: { bar.show($0) },
                epochProgress: { progress in
                    if !indexingDone {
                        bar.finish()
                        indexingDone = true
                    }
                    printError(progress.line())
                })
            for failure in report.indexReport.failures { printError("skipped \(failure.path): \(failure.reason)") }
            try printReport(report)
        }
    }

    func printReport(_ report: HeadTrainingReport) throws {
        if json { return try printJSON(report) }
        do {
            let kind = report.output == .codes ? "\(report.bits)-bit codes" : "\(report.bits)-d float embedding"
            print(
                "trained head \(report.headID) (\(kind)) on \(report.trainImages) images of \(report.classes) classes "
                    + "in \(String(format: "%.1f", report.trainingSeconds)) s; wrote \(report.headPath)")
            print("held-out (\(report.testImages) queries against the \(report.trainImages) training images):")
            print(String(format: "  raw features   mAP@%d %.4f  P@%d %.4f", k, report.rawMAP, k, report.rawPrecision))
            print(
                String(format: "  head float     mAP@%d %.4f  P@%d %.4f", k, report.floatMAP, k, report.floatPrecision))
            if let codes = report.codesMAP, let precision = report.codesPrecision {
                print(
                    String(
                        format: "  head codes     mAP@%d %.4f  P@%d %.4f  (%+.4f vs raw)", k, codes, k, precision,
                        codes - report.rawMAP))
            }
        }
    }
}
