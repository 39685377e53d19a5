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
/// classes it was trained on and is near chance elsewhere; the label prior is weaker but knows 1 000 things. The
/// weight of the alignment rises with the query's *familiarity* — its largest cosine to the alignment's class
/// texts — from 0 at `unfamiliar` to 1 at `familiar`; each side's scores are standardised over the archive before
/// they are mixed. The two bounds were chosen on aid-mini with seed 1 (`satseek eval-text`) and are reported on
/// other seeds and datasets in the README.
public struct TextBlend: Sendable, Codable, Equatable {
    public var unfamiliar: Float
    public var familiar: Float

    public static let standard = TextBlend(unfamiliar: 0.55, familiar: 0.7)

    public init(unfamiliar: Float, familiar: Float) {
        self.unfamiliar = unfamiliar
        self.familiar = familiar
    }

    /// The alignment's weight for a query whose familiarity is `familiarity`.
    public func alignmentWeight(familiarity: Float) -> Float {
        guard familiar > unfamiliar else { return familiarity >= familiar ? 1 : 0 }
        return min(1, max(0, (familiarity - unfamiliar) / (familiar - unfamiliar)))
    }

    /// Largest cosine between `query` and the rows of `classTexts` (both L2-normalised).
    public static func familiarity(of query: [Float], classTexts: Matrix) -> Float {
        var best: Float = -1
        for row in 0..<classTexts.rows {
            var dot: Float = 0
            for j in 0..<classTexts.columns { dot += classTexts.values[row * classTexts.columns + j] * query[j] }
            best = max(best, dot)
        }
        return best
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
