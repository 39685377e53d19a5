import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels

/// Stores an alignment's mapping of every indexed image (kind `text:<text model>:<alignment id>`), so
/// `search --text` works on the archive without CLIP.
public struct AlignmentAuxiliary: AuxiliaryEmbedding {
    public let alignment: TextAlignment

    /// - Throws: When the alignment was trained on another image model than `imageModelID`.
    public init(path: String, imageModelID: String) throws {
        alignment = try AlignmentFile.read(path)
        guard alignment.header.imageModelID == imageModelID else {
            throw LearningError.backboneMismatch(
                path: path, headBackbone: alignment.header.imageModelID, requested: imageModelID)
        }
    }

    public var kind: String { alignment.kind }
    public var dimensions: Int { alignment.header.textDimensions }

    public func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] {
        alignment.map(backbone, count: images.count)
    }
}

/// Text→image search over an index: with a CLIP index, the CLIP text tower against the image embeddings;
/// otherwise the sentence encoder against images mapped by an alignment (`index --align FILE`).
public struct TextSearcher: Sendable {
    public let catalog: Catalog
    public let textEmbedder: any TextEmbedder
    /// How queries are answered, for reports (`clip` or the alignment kind).
    public let mode: String
    /// The image vectors text queries are ranked against (CLIP image embeddings or aligned vectors).
    public let index: FlatIndex

    /// - Parameters:
    ///   - alignment: Pick this alignment file's vectors when the index holds several.
    public init(session: SearchSession, store: ModelStore = ModelStore(), alignment: String? = nil) throws {
        catalog = session.catalog
        if let clip = session.model as? CLIPModel {
            textEmbedder = try store.clipTextEmbedder(for: clip)
            let stored = try catalog.embeddings()
            guard !stored.ids.isEmpty else {
                throw SearchError.invalidInput("\(catalog.path): the index is empty; run `satseek index` first")
            }
            index = FlatIndex(dimensions: stored.dimensions, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
            mode = "clip"
            return
        }
        let kinds = try catalog.storedAuxiliaryKinds().keys.filter { $0.hasPrefix("text:") }.sorted()
        let kind: String
        if let alignment {
            kind = try AlignmentFile.read(alignment).kind
            guard kinds.contains(kind) else {
                throw SearchError.notFound(
                    "\(catalog.path) holds no vectors of alignment \(alignment); add them with "
                        + "`satseek index DIR --db \(catalog.path) --align \(alignment)`")
            }
        } else if kinds.count == 1 {
            kind = kinds[0]
        } else if kinds.isEmpty {
            throw SearchError.notFound(
                "\(catalog.path) was indexed with \(session.model.modelID), which has no text side: "
                    + "train an alignment (`satseek train-text DIR --out A.satseek-align`) and index with "
                    + "`--align A.satseek-align`, or index with a CLIP model (`--model clip:PATH`)")
        } else {
            throw SearchError.invalidInput(
                "\(catalog.path) holds several alignments (\(kinds.joined(separator: ", "))); choose one with --align FILE"
            )
        }
        // kind = text:<text model id>:<alignment id>
        let textModelID = String(kind.dropFirst("text:".count).split(separator: ":").dropLast().joined(separator: ":"))
        let sentence = try store.sentenceEmbedder()
        guard sentence.modelID == textModelID else {
            throw SearchError.invalidInput(
                "\(catalog.path): the alignment maps into \(textModelID) but the installed sentence encoder is \(sentence.modelID)"
            )
        }
        textEmbedder = sentence
        let stored = try catalog.embeddings(kind: kind)
        index = FlatIndex(dimensions: stored.dimensions, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
        mode = kind
    }

    /// The `k` indexed images best matching `text`.
    public func search(text: String, k: Int) throws -> [SearchResult] {
        let query = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { throw SearchError.invalidInput("the text query is empty") }
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let hits = index.search(try textEmbedder.embed(text: query), k: k)
        return try SearchResult.ranked(hits, catalog: catalog)
    }
}

/// Class text embeddings: per class, the normalised mean of its prompts' sentence embeddings.
public enum ClassTextEmbeddings {
    public static func compute(classes: [String], embedder: any TextEmbedder, includeSynonyms: Bool) throws -> Matrix {
        var matrix = Matrix(rows: classes.count, columns: embedder.dimensions)
        for (row, name) in classes.enumerated() {
            var sum = [Float](repeating: 0, count: embedder.dimensions)
            for prompt in ClassPrompts.prompts(forClass: name, includeSynonyms: includeSynonyms) {
                for (j, v) in try embedder.embed(text: prompt).enumerated() { sum[j] += v }
            }
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in sum.indices { matrix[row, j] = norm > 0 ? sum[j] / norm : 0 }
        }
        return matrix
    }
}

/// What `satseek train-text` did.
public struct AlignmentTrainingReport: Sendable, Codable {
    public let path: String
    public let kind: String
    public let imageModelID: String
    public let textModelID: String
    public let images: Int
    public let classes: Int
    public let finalLoss: Double
    public let seconds: Double
    public let indexReport: IndexReport
}

/// `satseek train-text`: index the class folders (cached), embed the class prompts, train and write.
public enum TextAlignmentWorkflow {
    public static func run(
        session: SearchSession, folder: String, textEmbedder: any TextEmbedder,
        configuration: AlignmentConfiguration, output: String,
        indexProgress: (ProgressSnapshot) -> Void,
        trainingProgress: (Int, Double) -> Void
    ) throws -> AlignmentTrainingReport {
        let indexReport = try session.indexer().index(folder, progress: indexProgress)
        let features = try LabelledFeatures.load(catalog: session.catalog, folder: folder)
        let classes = Set(features.classNames).sorted()
        let start = Date()
        let texts = try ClassTextEmbeddings.compute(classes: classes, embedder: textEmbedder, includeSynonyms: true)
        let trained = try TextAlignment.train(
            features: features.features, imageDimensions: features.dimensions,
            labels: features.labels, classTexts: texts,
            configuration: configuration, progress: trainingProgress)
        let alignment = TextAlignment(
            layer: trained.layer, imageModelID: session.model.modelID,
            textModelID: textEmbedder.modelID, classes: classes,
            templates: ClassPrompts.templates, configuration: configuration,
            images: features.count, finalLoss: trained.loss)
        try AlignmentFile.write(alignment, to: output)
        return AlignmentTrainingReport(
            path: output, kind: alignment.kind, imageModelID: session.model.modelID,
            textModelID: textEmbedder.modelID, images: features.count, classes: classes.count,
            finalLoss: trained.loss, seconds: Date().timeIntervalSince(start),
            indexReport: indexReport)
    }
}
