import SatSeekSearch
import Foundation
import SatSeekCatalog
import SatSeekLearning

/// Held-out quality after one training epoch.
public struct EpochProgress: Sendable, Codable {
    /// Loss terms and timing of the epoch.
    public let summary: EpochSummary
    /// Held-out mAP@K of the head's float output (test part queries the training part).
    public let floatMAP: Double
    /// Held-out mAP@K of the binary codes (Hamming ranking); `nil` for float heads.
    public let codesMAP: Double?
    /// Cut-off rank K.
    public let k: Int

    /// Training images per second so far.
    public var rate: Double {
        summary.elapsed > 0 ? Double(summary.images * summary.epoch) / summary.elapsed : 0
    }

    /// Seconds left at the current pace.
    public var eta: Double {
        summary.epoch > 0 ? summary.elapsed / Double(summary.epoch) * Double(summary.epochs - summary.epoch) : 0
    }

    /// `epoch  7/40  loss 0.2310 (triplet 0.2010 push 0.1500 balance 0.0300, 45% active)  held-out mAP@20 codes 0.8420 float 0.8510  9120 img/s  ETA 0:12`
    public func line() -> String {
        let t = summary.terms
        let width = String(summary.epochs).count
        var text = String(
            format:
                "epoch %\(width)d/%d  loss %.4f (triplet %.4f push %.4f balance %.4f, %.0f%% active)  held-out mAP@%d ",
            summary.epoch, summary.epochs, t.total, t.triplet, t.push, t.balance, 100 * t.activeFraction, k)
        if let codesMAP { text += String(format: "codes %.4f ", codesMAP) }
        text += String(format: "float %.4f  %.0f img/s  ETA %@", floatMAP, rate, ProgressSnapshot.clock(eta))
        return text
    }
}

/// What `satseek train` did.
public struct HeadTrainingReport: Sendable, Codable {
    /// Where the head file was written.
    public let headPath: String
    /// The head's content id.
    public let headID: String
    /// Catalog kind of its vectors (`head:<id>`).
    public let kind: String
    /// Backbone model id.
    public let modelID: String
    /// Codes or float embedding.
    public let output: HeadOutput
    /// Code length (or embedding size).
    public let bits: Int
    /// Images in the training part.
    public let trainImages: Int
    /// Images in the held-out part.
    public let testImages: Int
    /// Number of classes.
    public let classes: Int
    /// Cut-off rank K.
    public let k: Int
    /// Held-out mAP@K / P@K of the raw backbone features, for comparison.
    public let rawMAP: Double
    /// Held-out P@K of the raw features.
    public let rawPrecision: Double
    /// Held-out mAP@K of the head's float output (cosine).
    public let floatMAP: Double
    /// Held-out P@K of the head's float output.
    public let floatPrecision: Double
    /// Held-out mAP@K of the codes (Hamming); nil for float heads.
    public let codesMAP: Double?
    /// Held-out P@K of the codes.
    public let codesPrecision: Double?
    /// Training time, indexing excluded.
    public let trainingSeconds: Double
    /// What indexing the dataset did.
    public let indexReport: IndexReport
    /// Per-epoch losses and held-out mAP.
    public let epochs: [EpochProgress]
    /// The settings used.
    public let configuration: TrainingConfiguration
}

/// `satseek train`: index a class-folder dataset (backbone embeddings cached in the catalog), split it
/// per class, train a head on the training part and report held-out mAP on the test part every epoch.
public enum HeadTrainingWorkflow {
    /// - Parameters:
    ///   - session: The catalog (cache of backbone embeddings) and backbone model.
    ///   - folder: Class-folder dataset `DIR/<class>/<image>`.
    ///   - configuration: Head and optimisation settings (its seed also seeds the split).
    ///   - splitFraction: Fraction of every class used for training.
    ///   - output: Where the head file is written (atomically).
    public static func run(
        session: SearchSession, folder: String, configuration: TrainingConfiguration,
        splitFraction: Double, k: Int, output: String,
        indexProgress: (ProgressSnapshot) -> Void = { _ in },
        epochProgress: (EpochProgress) -> Void = { _ in }
    ) throws -> HeadTrainingReport {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let indexReport = try session.indexer().index(folder, progress: indexProgress)
        let features = try LabelledFeatures.load(catalog: session.catalog, folder: folder)
        return try train(
            features: features, dataset: folder, configuration: configuration, splitFraction: splitFraction,
            k: k, output: output, indexReport: indexReport, epochProgress: epochProgress)
    }

    /// Trains on features already in the catalog (a class-folder dataset or a collection's labels), holding out
    /// `1 − splitFraction` of every class to measure.
    public static func train(
        features: LabelledFeatures, dataset: String, configuration: TrainingConfiguration,
        splitFraction: Double, k: Int, output: String, indexReport: IndexReport = IndexReport(),
        epochProgress: (EpochProgress) -> Void = { _ in }
    ) throws -> HeadTrainingReport {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let folder = dataset
        let split = try DatasetSplit.stratified(
            classNames: features.classNames, names: features.names,
            fraction: splitFraction, seed: configuration.seed)
        guard !split.test.isEmpty else {
            throw SearchError.invalidInput(
                "\(folder): no test images after the split; use a smaller --split or more images")
        }
        let labels = features.labels
        let trainFeatures = features.rows(split.train)
        let testFeatures = features.rows(split.test)
        let trainLabels = split.train.map { labels[$0] }
        let testLabels = split.test.map { labels[$0] }

        func heldOut(
            _ head: MLPHead
        ) -> (float: (map: Double, precision: Double), codes: (map: Double, precision: Double)?) {
            let q = head.embed(testFeatures, count: split.test.count)
            let a = head.embed(trainFeatures, count: split.train.count)
            let bits = head.architecture.outputDimensions
            let float = SplitEvaluator.score(
                ranked: SplitEvaluator.cosineRanking(queries: q, archive: a, dimensions: bits, k: k),
                queryLabels: testLabels, archiveLabels: trainLabels, k: k)
            guard head.architecture.output == .codes else { return (float, nil) }
            let codes = SplitEvaluator.score(
                ranked: SplitEvaluator.hammingRanking(queries: q, archive: a, bits: bits, k: k),
                queryLabels: testLabels, archiveLabels: trainLabels, k: k)
            return (float, codes)
        }
        let raw = SplitEvaluator.score(
            ranked: SplitEvaluator.cosineRanking(
                queries: testFeatures, archive: trainFeatures,
                dimensions: features.dimensions, k: k),
            queryLabels: testLabels, archiveLabels: trainLabels, k: k)

        var epochs: [EpochProgress] = []
        let start = Date()
        let (head, _) = try Trainer.train(
            features: trainFeatures, labels: trainLabels, dimensions: features.dimensions,
            configuration: configuration
        ) { summary, head in
            let scores = heldOut(head)
            let progress = EpochProgress(
                summary: summary, floatMAP: scores.float.map, codesMAP: scores.codes?.map, k: k)
            epochs.append(progress)
            epochProgress(progress)
        }
        let seconds = Date().timeIntervalSince(start)
        let final = heldOut(head)
        var metrics: [String: Double] = [
            "raw_map@\(k)": raw.map, "raw_p@\(k)": raw.precision,
            "float_map@\(k)": final.float.map, "float_p@\(k)": final.float.precision
        ]
        if let codes = final.codes {
            metrics["codes_map@\(k)"] = codes.map
            metrics["codes_p@\(k)"] = codes.precision
        }
        let provenance = HeadProvenance(
            dataset: folder, splitFraction: splitFraction, splitSeed: configuration.seed,
            trainFingerprint: split.trainFingerprint, trainImages: split.train.count,
            testImages: split.test.count, classes: Set(labels).count,
            trainingSeconds: seconds)
        let trained = TrainedHead(
            head: head, backboneModelID: features.modelID, configuration: configuration,
            metrics: metrics, provenance: provenance)
        try HeadFile.write(trained, to: output)
        return HeadTrainingReport(
            headPath: output, headID: trained.header.id, kind: trained.kind, modelID: features.modelID,
            output: configuration.output, bits: configuration.bits,
            trainImages: split.train.count, testImages: split.test.count,
            classes: Set(labels).count, k: k, rawMAP: raw.map, rawPrecision: raw.precision,
            floatMAP: final.float.map, floatPrecision: final.float.precision,
            codesMAP: final.codes?.map, codesPrecision: final.codes?.precision,
            trainingSeconds: seconds, indexReport: indexReport, epochs: epochs,
            configuration: configuration)
    }
}
