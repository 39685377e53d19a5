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

/// Held-out and seen-class scores of one way of answering text queries.
public struct TextModeScores: Sendable, Codable {
    /// `alignment`, `label prior` or `blend`.
    public let mode: String
    public let heldOut: TextQueryScores
    public let seen: TextQueryScores
}

/// Composed queries at one text weight (``ComposedQuery``), on the seen classes: each seen gallery image is a query
/// image, with its own class name as text ("refine") and with another seen class's name ("modify").
public struct ComposedScores: Sendable, Codable {
    /// 0: the image alone (in the alignment's space); 1: the text alone.
    public let textWeight: Float
    /// mAP@K of the query image's class, the text naming that class.
    public let refineMeanAveragePrecision: Double
    /// mAP@K of the text's class, the text naming another class than the image's.
    public let modifyMeanAveragePrecision: Double
    /// Modify: mean backbone cosine between the query image and its top-K results of the text's class — how much
    /// the results look like the image while being what the text asks for.
    public let modifyLikeness: Double
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
    /// The mode `satseek search --text` uses on such an index: `blend` when the image model has an ImageNet
    /// classifier and the `imagenet-labels` asset is installed, else `alignment`.
    public let defaultMode: String
    /// Queries named after classes the alignment never saw (default mode).
    public let heldOut: TextQueryScores
    /// Queries named after training classes (their gallery images were not trained on) (default mode).
    public let seen: TextQueryScores
    /// Every mode measured: the alignment alone, and with a label prior, the prior alone and the blend.
    public let modes: [TextModeScores]
    /// The blend's bounds (measured on the seen classes unless given); nil without a label prior.
    public let blend: TextBlend?
    /// Composed image + text queries through the alignment, at text weights 0, 0.25, 0.5, 0.75 and 1.
    public let composed: [ComposedScores]
}

/// Held-out-class evaluation of text→image search through an alignment: the alignment is trained on the
/// seen classes only (half of each seen class's images, prompts with synonyms), then every class name,
/// put into the prompt templates without synonyms, queries a gallery of the unseen images.
///
/// With a ``LabelPrior`` (the image model's ImageNet classifier), the prior alone and its ``TextBlend`` with the
/// alignment are measured on the same queries and gallery; the prior involves no training on the dataset.
public enum TextEvaluation {
    public static func run(
        features: LabelledFeatures, dataset: String, textEmbedder: any TextEmbedder,
        holdoutClasses: Int, seed: UInt64, k: Int,
        configuration: AlignmentConfiguration, labelPrior: LabelPrior? = nil, blend: TextBlend? = nil
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
        let blend =
            try blend
            ?? TextBlend.calibrated(
                classTexts: texts,
                nameTexts: ClassTextEmbeddings.compute(
                    classes: seenClasses, embedder: textEmbedder, includeSynonyms: false))
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
        let galleryFeatures = features.rows(galleryRows)
        let mapped = alignment.map(galleryFeatures, count: galleryRows.count)
        let gallery = FlatIndex(
            dimensions: alignment.header.textDimensions, metric: .cosine,
            ids: galleryRows.indices.map { Int64($0) }, vectors: mapped)
        let galleryClasses = galleryRows.map { features.classNames[$0] }
        let codes = labelPrior.map { $0.encode(galleryFeatures, count: galleryRows.count) }

        // Each mode gives a query's score for every gallery image, in gallery order.
        func alignmentScores(_ query: [Float]) -> [Float] {
            var scores = [Float](repeating: 0, count: galleryRows.count)
            for hit in gallery.search(query, k: galleryRows.count) { scores[Int(hit.id)] = hit.score }
            return scores
        }
        var modes: [(String, ([Float]) -> [Float])] = [("alignment", alignmentScores)]
        if let labelPrior, let codes {
            let prior: ([Float]) -> [Float] = { labelPrior.scores(query: $0, codes: codes, count: galleryRows.count) }
            modes.append(("label prior", prior))
            modes.append(
                (
                    "blend",
                    { query in
                        let weight = blend.alignmentWeight(TextBlend.signals(of: query, classTexts: texts))
                        return TextBlend.mix(
                            alignment: alignmentScores(query), prior: prior(query),
                            alignmentWeight: weight)
                    }
                ))
        }

        func score(_ group: [String], rank: ([Float]) -> [Float]) throws -> TextQueryScores {
            let queries = try ClassTextEmbeddings.compute(
                classes: group, embedder: textEmbedder, includeSynonyms: false)
            var aps: [Double] = [], precisions: [Double] = [], randomAPs: [Double] = [], randomPrecisions: [Double] = []
            var shuffler = RandomSource(seed: seed &+ 1)
            for (q, name) in group.enumerated() {
                let vector = Array(queries.values[(q * queries.columns)..<((q + 1) * queries.columns)])
                let scores = rank(vector)
                // Best first; ties by gallery position.
                let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                let relevant = order.prefix(k).map { galleryClasses[$0] == name }
                let inGallery = galleryClasses.filter { $0 == name }.count
                aps.append(RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: inGallery))
                precisions.append(RetrievalMetrics.precision(relevant, k: k))
                var apSum = 0.0, precisionSum = 0.0
                let trials = 50
                var shuffled = galleryClasses
                for _ in 0..<trials {
                    shuffler.shuffle(&shuffled)
                    let flags = shuffled.prefix(k).map { $0 == name }
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
        let measured = try modes.map { name, rank in
            TextModeScores(
                mode: name, heldOut: try score(heldOut.sorted(), rank: rank), seen: try score(seenClasses, rank: rank))
        }
        let composed = try composedScores(
            features: features, galleryRows: galleryRows, seenGallery: split.test.count, mapped: mapped,
            gallery: gallery, classes: galleryClasses, seenClasses: seenClasses, textEmbedder: textEmbedder,
            seed: seed, k: k)
        let chosen = measured.last!
        return TextEvaluationReport(
            dataset: dataset, imageModelID: features.modelID, textModelID: textEmbedder.modelID,
            k: k, seed: seed, trainImages: trainRows.count, galleryImages: galleryRows.count,
            defaultMode: chosen.mode, heldOut: chosen.heldOut, seen: chosen.seen, modes: measured,
            blend: labelPrior == nil ? nil : blend, composed: composed)
    }

    /// Text weights measured for composed queries.
    public static let composedWeights: [Float] = [0, 0.25, 0.5, 0.75, 1]

    /// See ``ComposedScores``. The first `seenGallery` gallery rows are the seen classes' images; `mapped` holds
    /// every gallery row's aligned vector, `gallery` indexes them with ids = gallery positions.
    static func composedScores(
        features: LabelledFeatures, galleryRows: [Int], seenGallery: Int, mapped: [Float], gallery: FlatIndex,
        classes: [String], seenClasses: [String], textEmbedder: any TextEmbedder, seed: UInt64, k: Int
    ) throws -> [ComposedScores] {
        let names = try ClassTextEmbeddings.compute(
            classes: seenClasses, embedder: textEmbedder, includeSynonyms: false)
        let seenIndex = Dictionary(uniqueKeysWithValues: seenClasses.enumerated().map { ($1, $0) })
        let columns = gallery.dimensions
        func nameVector(_ name: String) -> [Float] {
            let row = seenIndex[name]!
            return Array(names.values[(row * columns)..<((row + 1) * columns)])
        }
        func unit(_ v: ArraySlice<Float>) -> [Float] {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { norm > 0 ? $0 / norm : 0 }
        }
        let backbone = (0..<galleryRows.count).map { position in
            unit(
                features.features[
                    (galleryRows[position] * features.dimensions)..<((galleryRows[position] + 1) * features.dimensions)]
            )
        }
        var counts: [String: Int] = [:]
        for name in classes { counts[name, default: 0] += 1 }
        // The other class of each query image ("modify"), drawn once for all weights.
        var random = RandomSource(seed: seed &+ 2)
        let others = (0..<seenGallery).map { position -> String in
            let own = seenIndex[classes[position]]!
            let draw = random.nextInt(below: seenClasses.count - 1)
            return seenClasses[draw >= own ? draw + 1 : draw]
        }
        return composedWeights.map { weight in
            var refine = 0.0, modify = 0.0, likeness = 0.0, likenessCount = 0
            for position in 0..<seenGallery {
                let image = Array(mapped[(position * columns)..<((position + 1) * columns)])
                let own = classes[position]
                for (target, sums) in [(own, 0), (others[position], 1)] {
                    let query = ComposedQuery.combine(image: image, text: nameVector(target), textWeight: weight)
                    let hits = gallery.search(query, k: k, excluding: [Int64(position)])
                    let relevant = hits.map { classes[Int($0.id)] == target }
                    let inGallery = counts[target]! - (target == own ? 1 : 0)
                    let ap = RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: inGallery)
                    if sums == 0 {
                        refine += ap
                    } else {
                        modify += ap
                        for hit in hits where classes[Int(hit.id)] == target {
                            likeness += Double(
                                zip(backbone[position], backbone[Int(hit.id)]).reduce(0) { $0 + $1.0 * $1.1 })
                            likenessCount += 1
                        }
                    }
                }
            }
            let n = Double(max(1, seenGallery))
            return ComposedScores(
                textWeight: weight, refineMeanAveragePrecision: refine / n, modifyMeanAveragePrecision: modify / n,
                modifyLikeness: likenessCount == 0 ? 0 : likeness / Double(likenessCount))
        }
    }
}
