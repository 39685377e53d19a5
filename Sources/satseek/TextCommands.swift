import ArgumentParser
import Foundation
import SatSeekLearning
import SatSeekModels
import SatSeekEvaluation
import SatSeekSearch

/// Options of the alignment training shared by `train-text` and `eval-text`: the image embeddings' cache and model,
/// and the optimiser's settings.
struct AlignmentOptions: ParsableArguments {
    @OptionGroup var dataset: DatasetOptions

    @Option(help: "Optimiser steps (mini-batches of --batch images).")
    var steps: Int = AlignmentConfiguration().steps

    @Option(help: "Images per mini-batch.")
    var batch: Int = AlignmentConfiguration().batchSize

    @Option(name: .customLong("lr"), help: "Adam learning rate.")
    var learningRate: Float = AlignmentConfiguration().learningRate

    @Option(help: "Softmax temperature of image→class-text similarities.")
    var temperature: Float = AlignmentConfiguration().temperature

    @Option(help: "Decoupled weight decay of the projection.")
    var weightDecay: Float = AlignmentConfiguration().weightDecay

    func configuration(seed: UInt64) throws -> AlignmentConfiguration {
        var c = AlignmentConfiguration()
        c.steps = steps; c.batchSize = batch; c.learningRate = learningRate
        c.temperature = temperature; c.weightDecay = weightDecay; c.seed = seed
        try c.validate()
        return c
    }

    /// What both commands start from: the training configuration, the sentence encoder and the session over the
    /// dataset's embeddings.
    func prepare(
        folder: String, seed: UInt64
    ) throws -> (
        AlignmentConfiguration, SentenceTextEmbedder, SearchSession
    ) {
        (try configuration(seed: seed), try ModelStore().sentenceEmbedder(), try dataset.session(folder: folder))
    }
}

struct TrainTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-text",
        abstract: "Train an image→sentence alignment so text queries work without CLIP.",
        discussion: """
            The class-folder dataset is indexed with the image model (embeddings cached in --db), every class name is \
            put into prompt templates ("an aerial photo of {}", "satellite image showing {}", …, with synonyms of \
            common remote-sensing classes) and embedded with the offline sentence encoder all-MiniLM-L6-v2 \
            (`satseek models install all-minilm-l6-v2`). A linear map from image embeddings into that sentence space \
            is trained so each image is nearest to its class's sentences (InfoNCE). Then:
              satseek index DIR --db X.satseek --align FILE
              satseek search --db X.satseek --text "harbor with many boats"
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(help: "Output alignment file (written atomically).")
    var out: String

    @Option(help: "Seed of the initialisation and batch order.")
    var seed: UInt64 = 7

    @OptionGroup var training: AlignmentOptions

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let (configuration, textEmbedder, session) = try training.prepare(folder: folder, seed: seed)
            let bar = ProgressPrinter()
            var indexing = true
            let start = Date()
            let report = try TextAlignmentWorkflow.run(
                session: session, folder: folder, textEmbedder: textEmbedder, configuration: configuration, output: out,
                indexProgress: { bar.show($0) },
                trainingProgress: { step, loss in
                    if indexing { bar.finish(); indexing = false }
                    let elapsed = Date().timeIntervalSince(start)
                    let rate = Double(step) / max(elapsed, 1e-9)
                    printError(
                        String(
                            format: "step %d/%d  loss %.4f  %.0f steps/s  ETA %@", step, configuration.steps, loss,
                            rate, ProgressSnapshot.clock(Double(configuration.steps - step) / max(rate, 1e-9))))
                })
            for failure in report.indexReport.failures { printError("skipped \(failure.path): \(failure.reason)") }
            if json { return try printJSON(report) }
            print(
                "trained alignment \(report.kind) on \(report.images) images of \(report.classes) classes in "
                    + String(
                        format: "%.1f s (final loss %.4f); wrote %@", report.seconds, report.finalLoss, report.path))
            print(
                "use it: satseek index \(folder) --db X.satseek --model \(training.dataset.model) --align \(report.path)"
            )
        }
    }
}

struct EvalTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-text",
        abstract: "Measure text→image search on classes the alignment never saw.",
        discussion: """
            --holdout-classes classes (chosen with --seed) are left out of training entirely; the alignment is trained on \
            half of every other class's images. Each class name, in the prompt templates and without synonyms, then \
            queries a gallery of the held-out classes' images and the seen classes' other half. P@K and mAP@K are \
            reported for held-out and for seen classes, next to a random ranking of the same gallery.
              satseek eval-text ../shared/datasets/aid-mini --holdout-classes 6 --seed 1
            """)

    @Argument(help: "Class-folder dataset: DIR/<class>/<image>.")
    var folder: String

    @Option(help: "Number of classes held out of training.")
    var holdoutClasses: Int = 5

    @Option(help: "Seed of the class choice, the split and the training.")
    var seed: UInt64 = 1

    @Option(name: .short, help: "Cut-off rank K.")
    var k: Int = 20

    @OptionGroup var training: AlignmentOptions

    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let (configuration, textEmbedder, session) = try training.prepare(folder: folder, seed: seed)
            try training.dataset.index(folder, with: session.indexer())
            let features = try LabelledFeatures.load(catalog: session.catalog, folder: folder)
            let prior = try LabelPriorText.prior(for: session.model, textEmbedder: textEmbedder)
            if prior == nil, !json {
                print(
                    "(no label prior: \(session.model.modelID) has no ImageNet classifier or "
                        + "`satseek models install \(ModelStore.imageNetLabelsAssetName)` has not been run)")
            }
            let report = try TextEvaluation.run(
                features: features, dataset: folder, textEmbedder: textEmbedder,
                holdoutClasses: holdoutClasses, seed: seed, k: k, configuration: configuration,
                labelPrior: prior)
            if json { return try printJSON(report) }
            print(
                "\(folder): \(report.imageModelID) → \(report.textModelID), trained on \(report.trainImages) images, "
                    + "gallery \(report.galleryImages) images, seed \(seed)")
            print("mode         queries            classes  mAP@\(k)   P@\(k)    random mAP@\(k)  random P@\(k)")
            for mode in report.modes {
                for (label, scores) in [("held-out (unseen)", mode.heldOut), ("seen", mode.seen)] {
                    print(
                        mode.mode.padded(13) + label.padded(19) + String(scores.classes.count).padded(9)
                            + String(
                                format: "%.4f   %.4f   %.4f         %.4f", scores.meanAveragePrecision,
                                scores.precision, scores.randomMeanAveragePrecision, scores.randomPrecision))
                }
            }
            print("default mode (what search --text uses on such an index): \(report.defaultMode)")
            print("composed (seen classes; image + its own class name / + another class's name):")
            print("text weight  refine mAP@\(k)  modify mAP@\(k)  modify likeness")
            for row in report.composed {
                print(
                    String(
                        format: "%.2f         %.4f        %.4f        %.4f", row.textWeight,
                        row.refineMeanAveragePrecision, row.modifyMeanAveragePrecision, row.modifyLikeness))
            }
            if let blend = report.blend {
                print(
                    String(
                        format: "blend: margin %.3f→%.3f, familiarity %.3f→%.3f", blend.margin.low, blend.margin.high,
                        blend.familiarity.low, blend.familiarity.high))
            }
            print(
                "held-out classes: "
                    + zip(report.heldOut.classes, report.heldOut.perClass)
                    .map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", "))
        }
    }
}
