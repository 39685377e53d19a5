import SatSeekSearch
import Foundation
import SatSeekIndex
import SatSeekLearning
import SatSeekModels

/// Scores of one group of text queries.
public struct TextQueryScores: Sendable, Codable {
    /// Classes queried.
    public let classes: [String]
    public let meanAveragePrecision: Double
    public let precision: Double
    /// The same measures for a random ranking of the same gallery (mean over seeded shuffles).
    public let randomMeanAveragePrecision: Double
    public let randomPrecision: Double
    /// AP@K per class, in `classes` order.
    public let perClass: [Double]
}

/// The result of `satseek eval-text`.
public struct TextEvaluationReport: Sendable, Codable {
    public let dataset: String
    public let imageModelID: String
    public let textModelID: String
    public let k: Int
    public let seed: UInt64
    /// Images used to train the alignment (training half of the seen classes).
    public let trainImages: Int
    /// Images searched: the seen classes' other half and every image of the held-out classes.
    public let galleryImages: Int
    /// Queries named after classes the alignment never saw.
    public let heldOut: TextQueryScores
    /// Queries named after training classes (their gallery images were not trained on).
    public let seen: TextQueryScores
}

/// Held-out-class evaluation of text→image search through an alignment: the alignment is trained on the
/// seen classes only (half of each seen class's images, prompts with synonyms), then every class name,
/// put into the prompt templates without synonyms, queries a gallery of the unseen images.
public enum TextEvaluation {
    public static func run(
        features: LabelledFeatures, dataset: String, textEmbedder: any TextEmbedder,
        holdoutClasses: Int, seed: UInt64, k: Int,
        configuration: AlignmentConfiguration
    ) throws -> TextEvaluationReport {
        let classes = Set(features.classNames).sorted()
        guard holdoutClasses >= 1, holdoutClasses <= classes.count - 2 else {
            throw SearchError.invalidInput(
                "--holdout-classes must be between 1 and \(classes.count - 2) for \(classes.count) classes")
        }
        var random = RandomSource(seed: seed)
        var shuffled = classes
        random.shuffle(&shuffled)
        let heldOut = Set(shuffled.prefix(holdoutClasses))
        let seenClasses = classes.filter { !heldOut.contains($0) }
        let seenRows = features.classNames.indices.filter { !heldOut.contains(features.classNames[$0]) }
        let split = try DatasetSplit.stratified(
            classNames: seenRows.map { features.classNames[$0] },
            names: seenRows.map { features.names[$0] }, fraction: 0.5, seed: seed)
        let trainRows = split.train.map { seenRows[$0] }
        let galleryRows =
            split.test.map { seenRows[$0] }
            + features.classNames.indices.filter { heldOut.contains(features.classNames[$0]) }

        let seenIndex = Dictionary(uniqueKeysWithValues: seenClasses.enumerated().map { ($1, $0) })
        let texts = try ClassTextEmbeddings.compute(classes: seenClasses, embedder: textEmbedder, includeSynonyms: true)
        var training = configuration
        training.seed = seed
        let trained = try TextAlignment.train(
            features: features.rows(trainRows), imageDimensions: features.dimensions,
            labels: trainRows.map { seenIndex[features.classNames[$0]]! },
            classTexts: texts, configuration: training)
        let alignment = TextAlignment(
            layer: trained.layer, imageModelID: features.modelID, textModelID: textEmbedder.modelID,
            classes: seenClasses, templates: ClassPrompts.templates, configuration: training,
            images: trainRows.count, finalLoss: trained.loss)
        let mapped = alignment.map(features.rows(galleryRows), count: galleryRows.count)
        let gallery = FlatIndex(
            dimensions: alignment.header.textDimensions, metric: .cosine,
            ids: galleryRows.map { Int64($0) }, vectors: mapped)
        let galleryClasses = galleryRows.map { features.classNames[$0] }

        func score(_ group: [String]) throws -> TextQueryScores {
            let queries = try ClassTextEmbeddings.compute(
                classes: group, embedder: textEmbedder, includeSynonyms: false)
            var aps: [Double] = [], precisions: [Double] = [], randomAPs: [Double] = [], randomPrecisions: [Double] = []
            var shuffler = RandomSource(seed: seed &+ 1)
            for (q, name) in group.enumerated() {
                let vector = Array(queries.values[(q * queries.columns)..<((q + 1) * queries.columns)])
                let relevant = gallery.search(vector, k: k).map { features.classNames[Int($0.id)] == name }
                let inGallery = galleryClasses.filter { $0 == name }.count
                aps.append(RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: inGallery))
                precisions.append(RetrievalMetrics.precision(relevant, k: k))
                var apSum = 0.0, precisionSum = 0.0
                let trials = 50
                var order = galleryClasses
                for _ in 0..<trials {
                    shuffler.shuffle(&order)
                    let flags = order.prefix(k).map { $0 == name }
                    apSum += RetrievalMetrics.averagePrecision(flags, k: k, relevantInArchive: inGallery)
                    precisionSum += RetrievalMetrics.precision(flags, k: k)
                }
                randomAPs.append(apSum / Double(trials))
                randomPrecisions.append(precisionSum / Double(trials))
            }
            func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
            return TextQueryScores(
                classes: group, meanAveragePrecision: mean(aps), precision: mean(precisions),
                randomMeanAveragePrecision: mean(randomAPs), randomPrecision: mean(randomPrecisions),
                perClass: aps)
        }
        return TextEvaluationReport(
            dataset: dataset, imageModelID: features.modelID, textModelID: textEmbedder.modelID,
            k: k, seed: seed, trainImages: trainRows.count, galleryImages: galleryRows.count,
            heldOut: try score(heldOut.sorted()), seen: try score(seenClasses))
    }
}
