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

    /// The text searcher of this archive (cached per alignment). - Throws: when the index has no text side.
    public func textSearcher(alignment: String? = nil) throws -> TextSearcher {
        try searchers.value(key: "text:" + (alignment ?? "")) {
            try TextSearcher(session: session, alignment: alignment)
        }
    }

    /// The sketch searcher (cached). - Throws: when the index has no sketch embeddings.
    public func sketchSearcher() throws -> SketchSearcher {
        try searchers.value(key: "sketch") {
            guard !(try catalog.embeddings(kind: SketchAuxiliary.kind).ids.isEmpty) else {
                throw SearchError.notFound(
                    "\(catalog.path) has no sketch embeddings; re-index with `satseek index … --sketchable`")
            }
            return try SketchSearcher(catalog: catalog, model: model)
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
}
