import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekModels
import SatSeekStore

/// The query kinds with a space of their own (text through an alignment, sketches, head codes): one call
/// each on the archive, answered by the searcher of that space and ranked with the same filters.
extension Archive {
    var session: SearchSession { SearchSession(catalog: catalog, model: model) }

    /// The `k` items best matching a sentence: with a CLIP index the text tower's vector ranks in the store
    /// like any image query; otherwise the sentence encoder against the images mapped by an alignment and/or
    /// the label prior's codes (``TextSearcher``).
    public func search(
        text: String, k: Int, filter: SearchFilter = .none, alignment: String? = nil
    ) async throws
        -> [SearchResult]
    {
        let query = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { throw SearchError.invalidInput("the text query is empty") }
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let searcher = try textSearcher(alignment: alignment)
        let vector = try searcher.textEmbedder.embed(text: query)
        if searcher.mode == "clip" { return try await search(vector: vector, k: k, filter: filter) }
        return try SearchResult.ranked(try searcher.hits(for: vector, k: k, filter: filter), catalog: catalog)
    }

    /// A composed query: an image and a sentence that modifies it ("like this, but with water"), in the joint
    /// space of images and text — a CLIP index's own, or an alignment's (an indexed item's mapped vector is kept
    /// with the index; another image is mapped through the alignment file the index was built with). The query is the normalised `(1 − textWeight)·image + textWeight·text`
    /// of the two unit vectors (``ComposedQuery``); the item itself is left out of the results.
    public func search(
        _ example: QueryExample, modifiedBy text: String, textWeight: Float, k: Int, filter: SearchFilter = .none,
        alignment: String? = nil
    ) async throws -> [SearchResult] {
        let phrase = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !phrase.isEmpty else { throw SearchError.invalidInput("the text query is empty") }
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        guard textWeight.isFinite, (0...1).contains(textWeight) else {
            throw SearchError.invalidInput("the text weight must be between 0 and 1 (got \(textWeight))")
        }
        let searcher = try textSearcher(alignment: alignment)
        let textVector = try searcher.textEmbedder.embed(text: phrase)
        var filter = filter
        if let id = example.itemID { filter.excluded.insert(id) }
        if searcher.mode == "clip" {
            let image = try await vector(of: example)
            guard image.count == textVector.count else {
                throw SearchError.invalidInput(
                    "\(catalog.path): image vectors have \(image.count) values, text vectors \(textVector.count)")
            }
            let query = ComposedQuery.combine(image: image, text: textVector, textWeight: textWeight)
            return try await search(vector: query, k: k, filter: filter)
        }
        guard let index = searcher.index else {
            throw SearchError.invalidInput(
                "\(catalog.path) answers text through ImageNet labels only, which is no space for images and text "
                    + "together: a composed query needs an alignment (`index --align`) or a CLIP index")
        }
        let image: [Float]
        if case .item(let id) = example {
            guard let row = index.ids.firstIndex(of: id) else {
                throw SearchError.notFound("item \(id) has no vector of \(searcher.mode) in \(catalog.path)")
            }
            image = index.vector(atRow: row)
        } else {
            // An image from outside the index: embedded, then mapped through the alignment file.
            image = try searcher.aligned(try await vector(of: example))
        }
        guard index.dimensions == textVector.count else {
            throw SearchError.invalidInput(
                "\(catalog.path): \(searcher.mode) has \(index.dimensions) values, the text encoder \(textVector.count)"
            )
        }
        let query = ComposedQuery.combine(image: image, text: textVector, textWeight: textWeight)
        return try SearchResult.ranked(try index.search(query, k: k, filter: filter, in: catalog), catalog: catalog)
    }

    /// The text searcher of this archive (cached per alignment). - Throws: when the index has no text side.
    /// Cached until the index gains, loses or re-embeds items — every item `index` stores bumps the embedding
    /// revision, its alignment and label vectors included —, so a running server's text searches see what `index`
    /// adds.
    public func textSearcher(alignment: String? = nil) throws -> TextSearcher {
        try searchers.value(key: "text:" + (alignment ?? ""), version: String(try catalog.embeddingRevision())) {
            // The sentence encoder is loaded once per process, and only for an index with a text side.
            try TextSearcher(session: session, alignment: alignment) {
                try self.searchers.value(key: "sentence-embedder") { try ModelStore().sentenceEmbedder() }
            }
        }
    }

    /// The sketch searcher, cached until the index gains or loses items or is given another sketch adapter, so a
    /// running server's sketch searches see what `index` adds. - Throws: `SearchError.notFound` when the index has no
    /// sketch embeddings (see ``SketchSearcher/init(catalog:model:rotations:)``).
    public func sketchSearcher() throws -> SketchSearcher {
        let adapter = try catalog.note(SketchRegionAuxiliary.adapterNote)
        let version = "\(try catalog.embeddingRevision())|\(adapter ?? "")"
        return try searchers.value(key: "sketch", version: version) {
            try SketchSearcher(catalog: catalog, model: model)
        }
    }

    /// The `k` items best matching a drawn sketch (PNG/JPEG bytes).
    public func search(sketchData data: Data, name: String, k: Int) throws -> [SearchResult] {
        try sketchSearcher().search(sketchData: data, name: name, k: k)
    }

    /// The `k` items best matching a sketch file.
    public func search(sketchAt path: String, k: Int) throws -> [SearchResult] {
        try sketchSearcher().search(sketchAt: path, k: k)
    }

    /// Head-code search: Hamming ranking of a trained head's binary codes (optionally re-ranked by cosine).
    public func search(
        _ example: QueryExample, head path: String, k: Int, rerankDepth: Int? = nil
    ) throws -> [SearchResult] {
        let searcher = try searchers.value(key: "head:" + path) { try HeadSearcher(session: session, headPath: path) }
        switch example {
        case .item(let id): return try searcher.search(itemID: id, k: k, rerankDepth: rerankDepth)
        case .imageFile(let path): return try searcher.search(imageAt: path, k: k, rerankDepth: rerankDepth)
        default: throw SearchError.invalidInput("--head ranks image files or indexed items")
        }
    }
}

/// Searchers built on first use and kept (each maps its own vectors once).
final class SearcherCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: any Sendable] = [:]

    func value<T: Sendable>(key: String, make: () throws -> T) throws -> T {
        if let found = lock.withLock({ values[key] }) as? T { return found }
        let made = try make()
        lock.withLock { values[key] = made }
        return made
    }

    /// The value kept under `key` while it was made for `version` — or the error making it threw, so that an index
    /// without that search space (finding that out scans the stored kinds or embeddings) is not asked again at every
    /// request until the version moves; made again (and replacing it) otherwise.
    func value<T: Sendable>(key: String, version: String, make: () throws -> T) throws -> T {
        if let found = lock.withLock({ versioned[key] }), found.version == version,
            let outcome = found.outcome as? Result<T, any Error>
        {
            return try outcome.get()
        }
        let made = Result { try make() }
        lock.withLock { versioned[key] = (version, made) }
        return try made.get()
    }
    private var versioned: [String: (version: String, outcome: any Sendable)] = [:]
}

/// Composed image + text queries: a weighted sum of the two unit vectors in a joint space (the "WeiCom" baseline of
/// composed retrieval for remote sensing, Psomas et al. 2024, in vector form).
public enum ComposedQuery {
    /// The text weight `satseek search --item ID --text …` uses unless told (chosen with `satseek eval-text` on
    /// aid-mini seed 1; README, "Text search").
    public static let defaultTextWeight: Float = 0.75

    /// `normalise((1 − textWeight)·normalise(image) + textWeight·normalise(text))`.
    public static func combine(image: [Float], text: [Float], textWeight: Float) -> [Float] {
        func unit(_ v: [Float]) -> [Float] {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? v.map { $0 / norm } : v
        }
        let a = unit(image), b = unit(text)
        return unit(zip(a, b).map { (1 - textWeight) * $0 + textWeight * $1 })
    }
}
