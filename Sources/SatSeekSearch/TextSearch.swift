import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels
import SatSeekStore

/// Stores an alignment's mapping of every indexed image (kind `text:<text model>:<alignment id>`), so
/// `search --text` works on the archive without CLIP.
public struct AlignmentAuxiliary: AuxiliaryEmbedding {
    public let alignment: TextAlignment

    /// - Throws: When the alignment was trained on another image model than `imageModelID`.
    /// The alignment file.
    public let path: String

    public init(path: String, imageModelID: String) throws {
        self.path = path
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

    /// Keeps the alignment's class names with the catalog: text search weighs the alignment by how close a
    /// query comes to them (``TextBlend``).
    public func prepare(catalog: Catalog) throws {
        try catalog.setNote(Self.classesNote(kind: kind), alignment.header.classes.joined(separator: "\n"))
        try catalog.setNote(Self.fileNote(kind: kind), URL(fileURLWithPath: path).standardizedFileURL.path)
    }

    static func classesNote(kind: String) -> String { "classes." + kind }
    /// Where the alignment file was when the index was built: composed queries map an image file through it.
    static func fileNote(kind: String) -> String { "file." + kind }
}

/// Text→image search over an index: with a CLIP index, the CLIP text tower against the image embeddings;
/// otherwise the sentence encoder against what the index stores for it — images mapped by an alignment
/// (`index --align FILE`), the image model's own ImageNet labels (`index --label-prior`, see ``LabelPrior``), or
/// both, blended by how familiar the query is to the alignment (``TextBlend``).
public struct TextSearcher: Sendable {
    public let catalog: Catalog
    public let textEmbedder: any TextEmbedder
    /// How queries are answered, for reports: `clip`, the alignment kind, the label-prior kind, or
    /// `blend:<alignment kind>+<label-prior kind>`.
    public let mode: String
    /// The image vectors text queries are ranked against by cosine (CLIP image embeddings or aligned vectors);
    /// nil when only the label prior answers.
    public let index: FlatIndex?
    /// The label prior and every item's code, when the index stores them.
    public let labels: LabelCodes?
    /// The kind of the alignment vectors searched (`text:<text model>:<alignment id>`), when an alignment answers.
    public let alignmentKind: String?
    /// Text embeddings of the alignment's classes (with synonyms), for the blend's margin.
    public let classTexts: Matrix?
    /// The blend's bounds: given, or measured on the alignment's classes (``TextBlend/calibrated(classTexts:nameTexts:)``).
    public let blend: TextBlend

    /// The label-prior codes of an index.
    public struct LabelCodes: Sendable {
        public let prior: LabelPrior
        public let ids: [Int64]
        public let codes: [Float]
    }

    /// - Parameters:
    ///   - alignment: Pick this alignment file's vectors when the index holds several.
    ///   - sentenceEmbedder: Gives the sentence encoder, when the index needs one, from where the caller keeps it (a
    ///     searcher rebuilt for new items reuses the loaded one); otherwise the store's is loaded.
    public init(
        session: SearchSession, store: ModelStore = ModelStore(), alignment: String? = nil,
        blend: TextBlend? = nil, sentenceEmbedder: (() throws -> SentenceTextEmbedder)? = nil
    ) throws {
        catalog = session.catalog
        if let clip = session.model as? CLIPModel {
            textEmbedder = try store.clipTextEmbedder(for: clip)
            let stored = try catalog.embeddings()
            guard !stored.ids.isEmpty else {
                throw SearchError.invalidInput("\(catalog.path): the index is empty; run `satseek index` first")
            }
            index = FlatIndex(dimensions: stored.dimensions, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
            mode = "clip"
            alignmentKind = nil
            labels = nil
            classTexts = nil
            self.blend = blend ?? .fallback
            return
        }
        let stored = try catalog.storedAuxiliaryKinds().keys
        let kinds = stored.filter { $0.hasPrefix("text:") }.sorted()
        let labelKinds = stored.filter { $0.hasPrefix("labels:") }.sorted()
        var kind: String?
        if let alignment {
            kind = try AlignmentFile.read(alignment).kind
            guard kinds.contains(kind!) else {
                throw SearchError.notFound(
                    "\(catalog.path) holds no vectors of alignment \(alignment); add them with "
                        + "`satseek index DIR --db \(catalog.path) --align \(alignment)`")
            }
        } else if kinds.count == 1 {
            kind = kinds[0]
        } else if kinds.isEmpty, labelKinds.isEmpty {
            throw SearchError.notFound(
                "\(catalog.path) was indexed with \(session.model.modelID), which has no text side: "
                    + "train an alignment (`satseek train-text DIR --out A.satseek-align`) and index with "
                    + "`--align A.satseek-align`, index with `--label-prior` (the model's own ImageNet labels), "
                    + "or index with a CLIP model (`--model clip:PATH`)")
        } else if kinds.count > 1 {
            throw SearchError.invalidInput(
                "\(catalog.path) holds several alignments (\(kinds.joined(separator: ", "))); choose one with --align FILE"
            )
        }
        // kind = text:<text model id>:<alignment id>; label kind = labels:<text model id>:top<N>
        // (A damaged catalog may hold any kind string: a part missing gives an empty model id, which fails the check.)
        func textModel(of kind: String) -> String {
            let rest =
                kind.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
            return rest.split(separator: ":").dropLast().joined(separator: ":")
        }
        let sentence = try sentenceEmbedder?() ?? store.sentenceEmbedder()
        for used in [kind].compactMap({ $0 }) + labelKinds where textModel(of: used) != sentence.modelID {
            throw SearchError.invalidInput(
                "\(catalog.path): \(used) was made with \(textModel(of: used)) but the installed sentence encoder is "
                    + sentence.modelID)
        }
        textEmbedder = sentence
        alignmentKind = kind
        if let kind {
            let vectors = try catalog.embeddings(kind: kind)
            index = FlatIndex(
                dimensions: vectors.dimensions, metric: .cosine, ids: vectors.ids, vectors: vectors.vectors)
            let classes = try catalog.note(AlignmentAuxiliary.classesNote(kind: kind))?.split(separator: "\n")
                .map(String.init)
            let cache = ClassTextEmbeddings.cacheFolder(in: store)
            classTexts = try classes.map {
                try ClassTextEmbeddings.compute(classes: $0, embedder: sentence, includeSynonyms: true, cache: cache)
            }
            if let blend {
                self.blend = blend
            } else if let classes, let classTexts {
                self.blend = TextBlend.calibrated(
                    classTexts: classTexts,
                    nameTexts: try ClassTextEmbeddings.compute(
                        classes: classes, embedder: sentence, includeSynonyms: false, cache: cache))
            } else {
                self.blend = .fallback
            }
        } else {
            index = nil
            classTexts = nil
            self.blend = blend ?? .fallback
        }
        if let labelKind = labelKinds.first {
            let topCount = labelKind.split(separator: ":").last.flatMap { Int($0.dropFirst("top".count)) }
            guard
                let prior = try LabelPriorText.prior(
                    for: session.model, textEmbedder: sentence, store: store,
                    topCount: topCount ?? LabelPriorText.topCount)
            else {
                throw SearchError.notFound(
                    store.imageNetLabelsFile == nil
                        ? "\(catalog.path) stores ImageNet label codes but the class names are not installed: run "
                            + "`satseek models install \(ModelStore.imageNetLabelsAssetName)`"
                        : "\(catalog.path): cannot read its label codes '\(labelKind)' with \(session.model.modelID)")
            }
            let codes = try catalog.embeddings(kind: labelKind)
            guard codes.dimensions == prior.codeLength else {
                throw SearchError.invalidInput(
                    "\(catalog.path): \(labelKind) codes have \(codes.dimensions) values, expected \(prior.codeLength)")
            }
            labels = LabelCodes(prior: prior, ids: codes.ids, codes: codes.vectors)
            mode = kind.map { "blend:\($0)+\(labelKind)" } ?? labelKind
        } else {
            labels = nil
            mode = kind!
        }
    }

    /// The `k` best hits for an embedded query among the items `filter` allows.
    public func hits(for query: [Float], k: Int, filter: SearchFilter = .none) throws -> [SearchHit] {
        guard let labels else { return try index!.search(query, k: k, filter: filter, in: catalog) }
        let prior = labels.prior.scores(query: query, codes: labels.codes, count: labels.ids.count)
        var scores = prior
        if let index {
            let weight =
                classTexts.map {
                    blend.alignmentWeight(TextBlend.signals(of: query, classTexts: $0))
                } ?? 1
            var aligned = [Int64: Float](minimumCapacity: index.count)
            for hit in index.search(query, k: index.count) { aligned[hit.id] = hit.score }
            // An item without an aligned vector gets the mean alignment score (standardised: 0).
            let mean = aligned.values.reduce(0, +) / Float(max(1, aligned.count))
            scores = TextBlend.mix(
                alignment: labels.ids.map { aligned[$0] ?? mean }, prior: prior, alignmentWeight: weight)
        }
        let allowed = try filter.candidates(in: catalog)
        let order = labels.ids.indices.filter { position in
            let id = labels.ids[position]
            return !filter.excluded.contains(id) && allowed?.contains(id) ?? true
        }
        .sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && labels.ids[$0] < labels.ids[$1]) }
        return order.prefix(k).map { SearchHit(id: labels.ids[$0], score: scores[$0]) }
    }

    /// The `k` indexed images best matching `text`.
    /// An image's vector in the alignment's space, through the alignment file the index was built with.
    /// - Throws: when no alignment answers, the file is gone, or it is no longer the alignment indexed.
    public func aligned(_ embedding: [Float]) throws -> [Float] {
        guard let kind = alignmentKind else {
            throw SearchError.invalidInput("\(catalog.path) has no alignment to map an image into the text space")
        }
        guard let path = try catalog.note(AlignmentAuxiliary.fileNote(kind: kind)) else {
            throw SearchError.notFound(
                "\(catalog.path) does not record which alignment file built \(kind); re-run `satseek index … --align FILE`"
            )
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw SearchError.notFound("the alignment file \(path) that built \(catalog.path) is gone")
        }
        let alignment = try AlignmentFile.read(path)
        guard alignment.kind == kind else {
            throw SearchError.invalidInput(
                "\(path) is no longer the alignment \(catalog.path) was indexed with (\(alignment.kind), not \(kind))")
        }
        guard embedding.count == alignment.header.imageDimensions else {
            throw SearchError.invalidInput(
                "\(path) maps \(alignment.header.imageDimensions)-value image embeddings, got \(embedding.count)")
        }
        return alignment.map(embedding, count: 1)
    }

    public func search(text: String, k: Int) throws -> [SearchResult] {
        let query = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { throw SearchError.invalidInput("the text query is empty") }
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        return try SearchResult.ranked(try hits(for: try textEmbedder.embed(text: query), k: k), catalog: catalog)
    }
}

/// Class text embeddings: per class, the normalised mean of its prompts' sentence embeddings.
public enum ClassTextEmbeddings {
    /// - Parameter cache: A folder where each class's vector is kept under a name made of the text model and a
    ///   hash of its prompts (so a changed template or synonym list never reads a stale vector); nil computes all.
    public static func compute(
        classes: [String], embedder: any TextEmbedder, includeSynonyms: Bool, cache: URL? = nil
    ) throws -> Matrix {
        var matrix = Matrix(rows: classes.count, columns: embedder.dimensions)
        for (row, name) in classes.enumerated() {
            let prompts = ClassPrompts.prompts(forClass: name, includeSynonyms: includeSynonyms)
            let file = cache.map { $0.appendingPathComponent(cacheName(prompts: prompts, embedder: embedder)) }
            if let file, let values = readVector(file, count: embedder.dimensions) {
                for j in values.indices { matrix[row, j] = values[j] }
                continue
            }
            var sum = [Float](repeating: 0, count: embedder.dimensions)
            for prompt in prompts {
                for (j, v) in try embedder.embed(text: prompt).enumerated() { sum[j] += v }
            }
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let unit = sum.map { norm > 0 ? $0 / norm : 0 }
            for j in unit.indices { matrix[row, j] = unit[j] }
            if let file, let cache {
                // A cache that cannot be written only costs the next query the same work.
                try? FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
                try? unit.withUnsafeBytes { Data($0) }.write(to: file, options: .atomic)
            }
        }
        return matrix
    }

    /// The cache folder of a model store.
    public static func cacheFolder(in store: ModelStore) -> URL {
        store.directory.appendingPathComponent("class-texts")
    }

    static func cacheName(prompts: [String], embedder: any TextEmbedder) -> String {
        let key = Array(prompts.joined(separator: "\n").utf8)
        let hash = key.withUnsafeBytes { XXHash64.hash($0) }
        let model = String(embedder.modelID.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return "\(model)-\(String(hash, radix: 16)).f32"
    }

    /// `count` finite floats from `file`, or nil when it is missing, of another size or holds a non-finite value.
    static func readVector(_ file: URL, count: Int) -> [Float]? {
        guard let data = try? Data(contentsOf: file), data.count == count * MemoryLayout<Float>.size else { return nil }
        let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return values.allSatisfy(\.isFinite) ? values : nil
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
