import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels
import SatSeekStore

/// One example of a query: an indexed item, an image file, uploaded image bytes, (with a CLIP index, whose
/// text tower maps into the image space) a sentence, or an embedding of the archive's model computed elsewhere.
public enum QueryExample: Sendable, Hashable {
    case item(Int64)
    case imageFile(String)
    case imageData(Data, name: String)
    case text(String)
    case vector([Float])

    /// The indexed item this example is, if any (left out of its own results).
    public var itemID: Int64? { if case .item(let id) = self { return id } else { return nil } }
}

/// A query of weighted examples: what the analyst marked relevant and not relevant, and the learner that
/// turns them into a ranking.
public struct FeedbackQuery: Sendable, Hashable {
    public var positives: [QueryExample]
    public var negatives: [QueryExample]
    public var learner: FeedbackLearner
    /// Centre embeddings on the archive mean before learning (measured better; see the README).
    public var centred: Bool

    /// The label of every example that is an indexed item (+1 positive, −1 negative), for exports.
    public var itemLabels: [Int64: Int] {
        var labels: [Int64: Int] = [:]
        for case .item(let id) in positives { labels[id] = 1 }
        for case .item(let id) in negatives { labels[id] = -1 }
        return labels
    }

    public init(
        positives: [QueryExample], negatives: [QueryExample] = [], learner: FeedbackLearner = .auto,
        centred: Bool = true
    ) {
        self.positives = positives
        self.negatives = negatives
        self.learner = learner
        self.centred = centred
    }
}

/// The answer to a query: ranked results, and for a "find all" how many items pass the threshold in all.
public struct ArchiveAnswer: Sendable, Codable, Equatable {
    public var results: [SearchResult]
    /// Items passing the threshold and filters (find all); the number of results otherwise.
    public var total: Int
    /// The learner that ranked (feedback queries), `cosine` otherwise.
    public var scoring: String
}

/// The search engine: one archive of image tiles — the catalog (rows, footprints, collections), the vector
/// store that ranks (embedded index files or PostgreSQL) and the model that embeds queries. Every query kind
/// of the CLI and the server is one call here, so the same query ranks the same whoever asks.
public final class Archive: Sendable {
    public let catalog: Catalog
    public let model: any ImageEmbedder
    public let store: any VectorStore
    /// Exact scans only (ignore approximate indexes).
    public let exact: Bool
    /// Settings of the relevance-feedback learners.
    public var settings: RelevanceFeedback.Settings { RelevanceFeedback.Settings() }
    private let statisticsCache = RevisionCache<ArchiveStatistics>()
    /// The longest background sample drawn so far for this revision (and whether it holds every item).
    private let sampleCache = RevisionCache<(ids: [Int64], complete: Bool)>()
    let searchers = SearcherCache()

    /// - Parameters:
    ///   - store: where vectors are ranked; nil: the catalog's embedded store (flat + HNSW files).
    ///   - exact: always scan every vector instead of walking a graph.
    /// - Throws: When the catalog is empty or was built by another model (the one place the binding is checked).
    public init(catalog: Catalog, model: any ImageEmbedder, store: (any VectorStore)? = nil, exact: Bool = false) throws
    {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): the index is empty; run `satseek index` first")
        }
        guard binding.modelID == model.modelID, binding.dimensions == model.dimensions else {
            throw CatalogError.modelMismatch(path: catalog.path, indexModel: binding.modelID, requested: model.modelID)
        }
        let chosen = try store ?? EmbeddedStore(catalog: catalog)
        guard chosen.modelID == binding.modelID, chosen.dimensions == binding.dimensions else {
            throw CatalogError.modelMismatch(
                path: chosen.storeDescription, indexModel: chosen.modelID,
                requested: binding.modelID)
        }
        self.catalog = catalog
        self.model = model
        self.store = chosen
        self.exact = exact
    }

    /// Opens the archive of a session (its catalog and model).
    public convenience init(session: SearchSession, store: (any VectorStore)? = nil, exact: Bool = false) throws {
        try self.init(catalog: session.catalog, model: session.model, store: store, exact: exact)
    }

    // MARK: - Queries

    /// The `k` items most similar to one example (an item is left out of its own results).
    public func search(_ example: QueryExample, k: Int, filter: SearchFilter = .none) async throws -> [SearchResult] {
        try await results(try await hits(example, k: k, filter: filter))
    }

    /// The `k` stored vectors nearest to an embedding of this archive's model.
    public func search(vector: [Float], k: Int, filter: SearchFilter = .none) async throws -> [SearchResult] {
        try await results(try await hits(vector: vector, k: k, filter: filter))
    }

    /// Results for the store's hits: path and class from the catalog, or from the store for items other
    /// catalogs stored in it (a shared PostgreSQL store).
    func results(_ hits: [SearchHit], firstRank: Int = 1) async throws -> [SearchResult] {
        let known = try catalog.records(ids: hits.map(\.id))
        let missing = hits.map(\.id).filter { known[$0] == nil }
        let elsewhere = missing.isEmpty ? [:] : try await store.records(ids: missing)
        return SearchResult.ranked(hits, records: known, firstRank: firstRank, elsewhere: elsewhere)
    }

    /// ``search(_:k:filter:)`` as bare ids and scores (for callers that hold item metadata themselves).
    public func hits(_ example: QueryExample, k: Int, filter: SearchFilter = .none) async throws -> [SearchHit] {
        var filter = filter
        if let id = example.itemID { filter.excluded.insert(id) }
        return try await hits(vector: try await vector(of: example), k: k, filter: filter)
    }

    /// ``search(vector:k:filter:)`` as bare ids and scores.
    public func hits(vector: [Float], k: Int, filter: SearchFilter = .none) async throws -> [SearchHit] {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        return try await store.search(
            vector: vector, k: k, exact: exact, filter: try filter.resolvingDates(in: catalog))
    }

    /// Relevance feedback: the `k` best items by a model learned from the examples (the examples that are
    /// items are left out, as they are labelled already); scores are the learner's.
    public func search(_ query: FeedbackQuery, k: Int, filter: SearchFilter = .none) async throws -> ArchiveAnswer {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let (model, filter) = try await learn(query, filter: filter)
        let hits = try await store.search(
            vector: model.direction, k: k, exact: exact, filter: try filter.resolvingDates(in: catalog))
        let results = try await ranked(hits, scoredBy: model)
        return ArchiveAnswer(results: results, total: results.count, scoring: model.learner.rawValue)
    }

    /// "Find all": every item whose score passes `threshold` (the learner's score: a probability for the
    /// logistic learner, else the cosine), one page of them best first and how many there are in all. Unlike
    /// ``search(_:k:filter:)`` the examples themselves are not left out.
    public func findAll(
        _ query: FeedbackQuery, threshold: Float, filter: SearchFilter = .none, offset: Int = 0,
        limit: Int = 1000
    ) async throws -> ArchiveAnswer {
        // The examples are scored like every other item: "all of these" includes the ones marked relevant.
        let (model, _) = try await learn(query, filter: filter)
        let page = try await store.search(
            vector: model.direction, minimumScore: model.minimumCosine(forScore: threshold),
            filter: try filter.resolvingDates(in: catalog), offset: offset, limit: limit)
        let results = try await ranked(page.hits, scoredBy: model, firstRank: offset + 1)
        return ArchiveAnswer(results: results, total: page.total, scoring: model.learner.rawValue)
    }

    /// Results for the store's cosine hits of a learned model, with the learner's own scores.
    private func ranked(
        _ hits: [SearchHit], scoredBy model: RelevanceModel, firstRank: Int = 1
    ) async throws -> [SearchResult] {
        try await results(
            hits.map { SearchHit(id: $0.id, score: model.score(cosine: $0.score)) }, firstRank: firstRank)
    }

    /// The relevance model of a feedback query, and the filter with its item examples excluded.
    public func learn(
        _ query: FeedbackQuery, filter: SearchFilter = .none
    ) async throws
        -> (model: RelevanceModel, filter: SearchFilter)
    {
        guard !query.positives.isEmpty else {
            throw SearchError.invalidInput("a feedback query needs at least one positive example")
        }
        var filter = filter
        for example in query.positives + query.negatives { if let id = example.itemID { filter.excluded.insert(id) } }
        var positives: [[Float]] = []
        for example in query.positives { positives.append(try await vector(of: example)) }
        var negatives: [[Float]] = []
        for example in query.negatives { negatives.append(try await vector(of: example)) }
        let learner = RelevanceFeedback.resolve(query.learner, negatives: negatives.count)
        var background: [[Float]] = []
        if learner == .logistic {
            let size = settings.backgroundSize
            let ids = try backgroundSample(count: size + filter.excluded.count)
                .filter { !filter.excluded.contains($0) }.prefix(size)
            let stored = try await store.vectors(ids: Array(ids))
            background = ids.compactMap { stored[$0] }
        }
        let statistics = query.centred ? try await self.statistics() : nil
        let model = RelevanceFeedback.fit(
            positives: positives, negatives: negatives, learner: learner,
            statistics: statistics, background: background, settings: settings)
        return (model, filter)
    }

    /// The first `count` ids of the catalog's fixed pseudo-random order (``Catalog/sampleIDs(count:seed:)``): the
    /// order is total, so a shorter sample is a prefix of a longer one and one draw per revision serves every
    /// query instead of an ordering of the whole table per refine.
    private func backgroundSample(count: Int) throws -> [Int64] {
        let revision = try catalog.embeddingRevision()
        if let cached = sampleCache.get(revision), cached.complete || cached.ids.count >= count {
            return Array(cached.ids.prefix(count))
        }
        let wanted = max(count, 2 * (sampleCache.get(revision)?.ids.count ?? 0))
        let ids = try catalog.sampleIDs(count: wanted, seed: 1)
        sampleCache.set(revision, (ids, ids.count < wanted))
        return Array(ids.prefix(count))
    }

    /// The embedding of one example in the store's space.
    public func vector(of example: QueryExample) async throws -> [Float] {
        switch example {
        case .item(let id):
            guard let vector = try await store.vectors(ids: [id])[id] else {
                throw SearchError.notFound(
                    "\(store.storeDescription): no item with id \(id) "
                        + "(the index holds \(try await store.count()) items)")
            }
            return vector
        case .imageFile(let path):
            let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
            return try embed(image, name: path)
        case .imageData(let data, let name):
            return try embed(
                try ImageDecoder.decode(data: data, name: name, maxSide: Indexer.decodeMaxSide), name: name)
        case .text(let sentence):
            guard let clip = model as? CLIPModel else {
                throw SearchError.invalidInput(
                    "a sentence can be an example only with a CLIP index (its text tower "
                        + "embeds into the image space); this index uses \(model.modelID)")
            }
            return try ModelStore().clipTextEmbedder(for: clip).embed(text: sentence)
        case .vector(let vector):
            try store.validateQuery(vector)
            return vector
        }
    }

    private func embed(_ image: RGBImage, name: String) throws -> [Float] {
        guard image.width >= Indexer.minimumSide, image.height >= Indexer.minimumSide else {
            throw SearchError.invalidInput(
                "\(name): the image is \(image.width)×\(image.height) px; at least "
                    + "\(Indexer.minimumSide)×\(Indexer.minimumSide) needed")
        }
        return model.embed(images: [image])
    }

    // MARK: - Archive statistics

    /// The archive's embedding mean (for centring), kept in `<catalog>-stats.json` beside the index files and
    /// recomputed when the catalog's embedding revision moves on.
    public func statistics() async throws -> ArchiveStatistics {
        let revision = try catalog.embeddingRevision()
        if let cached = statisticsCache.get(revision) { return cached }
        let path = catalog.path + "-stats.json"
        struct StatsFile: Codable {
            let catalog: UUID
            let modelID: String
            let revision: UInt64
            let statistics: ArchiveStatistics
        }
        let identity = try catalog.identity()
        if let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode(StatsFile.self, from: data),
            file.catalog == identity, file.revision == revision, file.modelID == store.modelID,
            file.statistics.mean.count == store.dimensions
        {
            statisticsCache.set(revision, file.statistics)
            return file.statistics
        }
        let stored = try catalog.embeddings()
        let statistics = ArchiveStatistics(vectors: stored.vectors, dimensions: stored.dimensions)
        if let data = try? JSONEncoder().encode(
            StatsFile(catalog: identity, modelID: store.modelID, revision: revision, statistics: statistics))
        {
            // Best effort, atomically: a read-only folder still searches.
            try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        statisticsCache.set(revision, statistics)
        return statistics
    }
}

/// The last value computed from the catalog, kept while its embedding revision stays the same.
private final class RevisionCache<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (revision: UInt64, value: Value)?
    func get(_ revision: UInt64) -> Value? {
        lock.withLock { entry?.revision == revision ? entry?.value : nil }
    }
    func set(_ revision: UInt64, _ value: Value) { lock.withLock { entry = (revision, value) } }
}
