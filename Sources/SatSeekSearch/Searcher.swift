import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekModels
import SatSeekStore

/// One ranked search result.
public struct SearchResult: Sendable, Codable, Equatable {
    public let rank: Int
    public let id: Int64
    public let path: String
    public let className: String
    public let score: Float

    public init(rank: Int, id: Int64, path: String, className: String, score: Float) {
        self.rank = rank; self.id = id; self.path = path; self.className = className; self.score = score
    }

    /// Ranked results for index hits (best first), with each item's path and class from the catalog;
    /// hits whose item is gone from the catalog are dropped.
    public static func ranked(_ hits: [SearchHit], catalog: Catalog, firstRank: Int = 1) throws -> [SearchResult] {
        let records = try catalog.records(ids: hits.map(\.id))
        return hits.enumerated().compactMap { rank, hit in
            records[hit.id].map {
                SearchResult(rank: rank + firstRank, id: hit.id, path: $0.path, className: $0.className, score: hit.score)
            }
        }
    }
}

/// Image→image search over a catalog: maps the catalog's index files (``CatalogIndexFile``; rebuilt from the
/// stored embeddings when missing or stale) and answers queries by image file, by uploaded bytes or by the id of
/// an indexed item — through the HNSW graph when the catalog has a current one and `approximate` is allowed,
/// else exactly.
public struct Searcher: Sendable {
    public let catalog: Catalog
    public let model: any ImageEmbedder
    /// Exact cosine index over every stored embedding (also used for filtered searches).
    public let index: FlatIndex
    /// The HNSW graph, when the catalog has a current `-hnsw.ssidx` file and approximate search was allowed.
    public let graph: HNSWIndex?
    /// Where the exact index came from (file mapped as is, or rebuilt from the catalog and why).
    public let indexSources: [CatalogIndexFile.Outcome]

    /// - Parameter approximate: use the catalog's HNSW file when it is current (default); `false` always
    ///   searches exactly.
    /// - Throws: `CatalogError.modelMismatch` when the catalog was built by another model.
    public init(catalog: Catalog, model: any ImageEmbedder, approximate: Bool = true) throws {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): the index is empty; run `satseek index` first")
        }
        guard binding.modelID == model.modelID, binding.dimensions == model.dimensions else {
            throw CatalogError.modelMismatch(path: catalog.path, indexModel: binding.modelID, requested: model.modelID)
        }
        self.catalog = catalog
        self.model = model
        let flat = try CatalogIndexFile.loadFlat(catalog: catalog)
        index = flat.index
        indexSources = [flat.outcome]
        // A missing, stale or damaged HNSW file means exact search, not a graph build at start-up.
        graph = approximate ? CatalogIndexFile.openCurrentHNSW(catalog: catalog) : nil
    }

    /// The `k` most similar indexed images to an image file.
    public func search(imageAt path: String, k: Int) throws -> [SearchResult] {
        let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
        return try search(vector: model.embed(images: [image]), k: k)
    }

    /// The `k` most similar indexed images to an indexed item (the item itself is left out).
    public func search(itemID: Int64, k: Int) throws -> [SearchResult] {
        guard let vector = try catalog.embedding(id: itemID) else {
            throw SearchError.notFound("\(catalog.path): no item with id \(itemID) (the index holds \(try catalog.count()) items)")
        }
        return try search(vector: vector, k: k, excluding: [itemID])
    }

    /// The `k` nearest stored vectors to an embedding of this model.
    public func search(vector: [Float], k: Int, excluding: Set<Int64> = []) throws -> [SearchResult] {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let hits = graph?.search(vector, k: k, excluding: excluding) ?? index.search(vector, k: k, excluding: excluding)
        return try SearchResult.ranked(hits, catalog: catalog)
    }
}
