import Foundation
import SatSeekImaging
import SatSeekLearning
import SatSeekModels
import SatSeekTensor

/// Builds the ``LabelPrior`` of an image model: its ImageNet classifier plus the installed ImageNet class names
/// embedded by the sentence encoder (cached in the model store, one file per text model).
///
/// The three settings (label texts "an aerial photo of a <first lemma>", 50 labels kept, logit scale 10) were chosen
/// on rsscn7-mini (all 7 class names as queries, no alignment) in an exploration outside the repository and are
/// reported on aid-mini (README, "Text search"). The scale stands in for the length of the pooled features the
/// classifier sees (the archive keeps unit vectors); it sets how peaked the label distribution is.
public enum LabelPriorText {
    /// Labels kept per image.
    public static let topCount = 50
    /// Multiplies the unit-length embedding before the classifier (see above).
    public static let logitScale: Float = 10

    /// The text each label is embedded as.
    static func text(of label: ImageNetLabels.Label) -> String {
        "an aerial photo of a " + (label.lemmas.split(separator: ",").first.map(String.init) ?? label.lemmas)
    }
    /// Names the label texts' form in the cache file, so a change of ``text(of:)`` never reads stale vectors.
    static let textForm = "aerial-v1"

    /// The label prior of `model` keeping `topCount` labels, or nil when it has no ImageNet classifier, the
    /// `imagenet-labels` asset is not installed, or `topCount` is not between 1 and the number of labels.
    public static func prior(
        for model: any ImageEmbedder, textEmbedder: any TextEmbedder, store: ModelStore = ModelStore(),
        topCount: Int = LabelPriorText.topCount
    ) throws -> LabelPrior? {
        guard let classifier = (model as? any ImageNetClassifying)?.imageNetClassifier,
            store.imageNetLabelsFile != nil
        else { return nil }
        guard (1...classifier.outFeatures).contains(topCount) else { return nil }
        let texts = try labelTexts(store: store, textEmbedder: textEmbedder)
        return LabelPrior(classifier: classifier, logitScale: logitScale, topCount: topCount, labelTexts: texts)
    }

    /// The sentence embeddings of the 1 000 labels, from `<store>/imagenet-labels/texts-<text model>.f32` when it
    /// is there and whole, else computed (a few seconds) and written there.
    static func labelTexts(store: ModelStore, textEmbedder: any TextEmbedder) throws -> Matrix {
        let labels = try store.imageNetLabels().labels
        let dims = textEmbedder.dimensions
        let safeID = textEmbedder.modelID.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let cache = store.directory.appendingPathComponent(ModelStore.imageNetLabelsAssetName)
            .appendingPathComponent("texts-\(textForm)-\(String(safeID)).f32")
        let expected = labels.count * dims * MemoryLayout<Float>.size
        if let data = try? Data(contentsOf: cache), data.count == expected {
            let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            if values.allSatisfy(\.isFinite) { return Matrix(rows: labels.count, columns: dims, values: values) }
        }
        var values = [Float]()
        values.reserveCapacity(labels.count * dims)
        for label in labels { values += try textEmbedder.embed(text: text(of: label)) }
        try? values.withUnsafeBytes { Data($0) }.write(to: cache, options: .atomic)
        return Matrix(rows: labels.count, columns: dims, values: values)
    }
}

/// Stores each indexed image's label-prior code (kind `labels:<text model>:top<N>`), so text search can use the
/// image model's own classifier (see ``LabelPrior``).
public struct LabelPriorAuxiliary: AuxiliaryEmbedding {
    public let prior: LabelPrior
    public let textModelID: String

    public init(prior: LabelPrior, textModelID: String) {
        self.prior = prior
        self.textModelID = textModelID
    }

    public static func kind(textModelID: String, topCount: Int) -> String { "labels:\(textModelID):top\(topCount)" }
    public var kind: String { Self.kind(textModelID: textModelID, topCount: prior.topCount) }
    public var dimensions: Int { prior.codeLength }

    public func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] {
        prior.encode(backbone, count: backbone.count / prior.imageDimensions)
    }
}

/// How much a text query is answered by the alignment and how much by the label prior: the alignment knows the
/// classes it was trained on and is near chance elsewhere; the label prior is weaker but knows 1 000 things.
///
/// Two measures of the query against the alignment's class texts (cosines of sentence embeddings) decide it. Its
/// *familiarity*, the largest cosine, is high when the query says nearly what a trained class's name says. Its
/// *margin*, the largest minus the second largest, is high when the query picks one trained class out: a paraphrase
/// such as "ships docked in a harbor" (→ Port, margin 0.39, familiarity 0.67 on aid-mini) is less familiar than
/// many class names the alignment never saw (0.48–0.86) but has a far larger margin (those sit about as close to
/// several trained classes: mostly 0.00–0.04). The alignment's weight is the larger of two ramps, each from 0 at
/// its `low` bound to 1 at its `high` bound; each side's scores are standardised over the archive before they are
/// mixed. ``calibrated(classTexts:nameTexts:)`` measures the bounds on the alignment's own classes, so no dataset
/// needs constants of its own.
public struct TextBlend: Sendable, Codable, Equatable {
    /// A linear rise from 0 at `low` to 1 at `high` (a step at `high` when `high <= low`).
    public struct Ramp: Sendable, Codable, Equatable {
        public var low: Float
        public var high: Float
        public init(low: Float, high: Float) {
            self.low = low
            self.high = high
        }
        public func callAsFunction(_ x: Float) -> Float {
            guard high > low else { return x >= high ? 1 : 0 }
            return min(1, max(0, (x - low) / (high - low)))
        }
    }

    /// A query's two measures against the class texts.
    public struct Signals: Sendable, Equatable {
        /// Largest cosine to a class text.
        public var familiarity: Float
        /// Largest minus second largest cosine (the largest when only one class counts).
        public var margin: Float
    }

    public var margin: Ramp
    public var familiarity: Ramp

    /// The bounds when an alignment has too few classes to measure them (fewer than three): round values near
    /// those measured on aid-mini's alignments (margin 0.06–0.08 → 0.10–0.19, familiarity 0.70–0.72 → 0.83–0.90).
    public static let fallback = TextBlend(
        margin: Ramp(low: 0.05, high: 0.15), familiarity: Ramp(low: 0.75, high: 0.9))
    /// The quantiles ``calibrated(classTexts:nameTexts:)`` takes (chosen on aid-mini seed 1, `satseek eval-text`).
    static let unseenQuantile: Float = 0.75
    static let seenQuantile: Float = 0.1

    public init(margin: Ramp, familiarity: Ramp) {
        self.margin = margin
        self.familiarity = familiarity
    }

    /// The alignment's weight for a query with these measures.
    public func alignmentWeight(_ signals: Signals) -> Float {
        max(margin(signals.margin), familiarity(signals.familiarity))
    }

    /// The measures of `query` against the rows of `classTexts` (all L2-normalised), leaving out row `excluding`.
    /// A query of another length than the class texts has no measure of familiarity (−1, margin 0).
    public static func signals(of query: [Float], classTexts: Matrix, excluding: Int? = nil) -> Signals {
        guard query.count == classTexts.columns else { return Signals(familiarity: -1, margin: 0) }
        var best: Float = -1, second: Float = -1
        for row in 0..<classTexts.rows where row != excluding {
            var dot: Float = 0
            for j in 0..<classTexts.columns { dot += classTexts.values[row * classTexts.columns + j] * query[j] }
            if dot > best {
                second = best
                best = dot
            } else if dot > second {
                second = dot
            }
        }
        return Signals(familiarity: best, margin: second > -1 ? best - second : best)
    }

    /// Bounds measured on the alignment's classes. `classTexts` are its class texts (with synonyms, as trained),
    /// `nameTexts` the same classes' names in the templates without synonyms, row for row. Each name measured
    /// against all classes is what a query about a trained class gives; against all classes but its own (as if that
    /// class had been left out of training), what a class name the alignment never saw gives. Each ramp rises from
    /// the upper quartile of the second kind to the lowest decile of the first; ``fallback``'s ramp where the two
    /// do not come out in that order, and entirely below three classes.
    public static func calibrated(classTexts: Matrix, nameTexts: Matrix) -> TextBlend {
        let count = min(classTexts.rows, nameTexts.rows)
        guard count >= 3, classTexts.columns == nameTexts.columns else { return fallback }
        var seen: [Signals] = [], unseen: [Signals] = []
        for row in 0..<count {
            let name = Array(nameTexts.values[(row * nameTexts.columns)..<((row + 1) * nameTexts.columns)])
            seen.append(signals(of: name, classTexts: classTexts))
            unseen.append(signals(of: name, classTexts: classTexts, excluding: row))
        }
        func ramp(_ measure: KeyPath<Signals, Float>, fallback: Ramp) -> Ramp {
            let ramp = Ramp(
                low: quantile(unseen.map { $0[keyPath: measure] }, unseenQuantile),
                high: quantile(seen.map { $0[keyPath: measure] }, seenQuantile))
            return ramp.high > ramp.low ? ramp : fallback
        }
        return TextBlend(
            margin: ramp(\.margin, fallback: fallback.margin),
            familiarity: ramp(\.familiarity, fallback: fallback.familiarity))
    }

    /// The `q` quantile of `values` (not empty) by linear interpolation between order statistics.
    static func quantile(_ values: [Float], _ q: Float) -> Float {
        let sorted = values.sorted()
        let position = q * Float(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(sorted.count - 1, low + 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Float(low))
    }

    /// `weight·z(alignment) + (1 − weight)·z(prior)`, where z standardises over all entries.
    public static func mix(alignment: [Float], prior: [Float], alignmentWeight weight: Float) -> [Float] {
        let a = standardised(alignment), p = standardised(prior)
        return zip(a, p).map { weight * $0 + (1 - weight) * $1 }
    }

    static func standardised(_ values: [Float]) -> [Float] {
        guard !values.isEmpty else { return values }
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
        let deviation = variance.squareRoot()
        return values.map { deviation > 0 ? ($0 - mean) / deviation : 0 }
    }
}
