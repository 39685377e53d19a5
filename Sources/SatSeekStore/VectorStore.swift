import Foundation
import SatSeekCatalog
import SatSeekIndex

/// One item to store: an image's id, path, class, optional footprint box and embedding, and optionally a
/// binary code (packed bits, most significant bit first) for Hamming search.
public struct StoreItem: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var className: String
    public var footprint: GeoBox?
    public var vector: [Float]
    public var code: [UInt8]?

    public init(
        id: Int64, path: String, className: String, footprint: GeoBox? = nil, vector: [Float],
        code: [UInt8]? = nil
    ) {
        self.id = id
        self.path = path
        self.className = className
        self.footprint = footprint
        self.vector = vector
        self.code = code
    }
}

/// What a store knows of an item besides its vector: enough to show it as a result where the catalog at hand
/// does not hold it (another writer's item in a shared store).
public struct StoreRecord: Sendable, Equatable {
    public var path: String
    public var className: String
    public var footprint: GeoBox?

    public init(path: String, className: String, footprint: GeoBox? = nil) {
        self.path = path
        self.className = className
        self.footprint = footprint
    }
}

/// Which items a search may return — every caller's filters in one value.
public struct SearchFilter: Sendable, Equatable {
    /// Ids never returned (the query item itself, items the analyst already labelled, …).
    public var excluded: Set<Int64>
    /// When given, only these ids are candidates (an empty set returns nothing).
    public var allowed: Set<Int64>?
    /// When given, only items whose footprint box intersects it are candidates (items without a footprint
    /// never are).
    public var boundingBox: GeoBox?
    /// When given, only items acquired within it are candidates (items without a date never are).
    public var acquired: DateRange?

    public init(
        excluded: Set<Int64> = [], allowed: Set<Int64>? = nil, boundingBox: GeoBox? = nil, acquired: DateRange? = nil
    ) {
        self.excluded = excluded
        self.allowed = allowed
        self.boundingBox = boundingBox
        self.acquired = acquired
    }

    /// No filter at all.
    public static let none = SearchFilter()

    /// The ids this filter allows in `catalog` (nil: every id), the box and the date range resolved through the
    /// catalog's chip rows; excluded ids are not removed here.
    public func candidates(in catalog: Catalog) throws -> Set<Int64>? {
        var result = try resolvingDates(in: catalog).allowed
        if let box = boundingBox {
            let inside = try catalog.chipIDs(
                intersectingMinLon: box.minLon, minLat: box.minLat,
                maxLon: box.maxLon, maxLat: box.maxLat)
            result = result.map { $0.intersection(inside) } ?? inside
        }
        return result
    }

    /// Narrows the box to its part inside `box` (or sets `box` when there is none); boxes that do not meet allow
    /// nothing.
    public mutating func restrict(to box: GeoBox) {
        guard let current = boundingBox else {
            boundingBox = box
            return
        }
        if let both = current.intersection(box) { boundingBox = both } else { allowed = [] }
    }

    /// The same filter with its date range turned into allowed ids (read from `catalog`'s chip rows), for stores
    /// that do not keep dates themselves.
    public func resolvingDates(in catalog: Catalog) throws -> SearchFilter {
        guard let acquired else { return self }
        let dated = try catalog.chipIDs(acquiredFrom: acquired.from, to: acquired.to)
        var resolved = self
        resolved.allowed = allowed.map { $0.intersection(dated) } ?? dated
        resolved.acquired = nil
        return resolved
    }
}

extension FlatIndex {
    /// The `k` best hits for `query` among the ids `filter` allows in `catalog` (its box resolved through the
    /// chip footprints), excluded ids left out.
    public func search(_ query: [Float], k: Int, filter: SearchFilter, in catalog: Catalog) throws -> [SearchHit] {
        guard let allowed = try filter.candidates(in: catalog) else {
            return search(query, k: k, excluding: filter.excluded)
        }
        return search(query, k: k, allowed: allowed, excluding: filter.excluded)
    }
}

/// One page of a range search ("find all"): hits scoring at least the threshold, best first.
public struct RangePage: Sendable, Equatable {
    /// The hits of this page (at most `limit`, starting at `offset` of the whole ordered result).
    public var hits: [SearchHit]
    /// How many items pass the threshold and the filter in all.
    public var total: Int

    public init(hits: [SearchHit], total: Int) {
        self.hits = hits
        self.total = total
    }
}

/// Where embeddings of one model live and are searched by cosine similarity — what every query of the
/// archive goes through, whoever asks (CLI, server, evaluation).
///
/// Two stores conform:
/// - ``EmbeddedStore``: the default, embedded in the process — the SQLite catalog (`SatSeekCatalog`)
///   plus the exact and HNSW index files kept beside it (``CatalogIndexFile``).
/// - `PostgresStore` (`SatSeekPostgres`): PostgreSQL with pgvector, for collections that outgrow one
///   process's memory or are shared by several; exact scans or an HNSW index.
///
/// Scores are cosine similarities (higher is better); hits are sorted best first, ties by smaller id.
public protocol VectorStore: Sendable {
    /// The model whose embeddings the store holds; another model's vectors are refused.
    var modelID: String { get }
    /// Length of every stored vector.
    var dimensions: Int { get }
    /// Where the store is, for messages.
    var storeDescription: String { get }

    /// Inserts or replaces items (keyed by id; in one transaction) and returns the ids they are stored
    /// under, in order. ``EmbeddedStore`` keys rows by path and returns the catalog's ids.
    @discardableResult
    func upsert(items: [StoreItem]) async throws -> [Int64]

    /// The `k` most similar stored vectors to `vector` that pass `filter`.
    /// - Parameter exact: `true` scans every candidate (exact results); `false` lets the store use an
    ///   approximate index where it has one.
    func search(vector: [Float], k: Int, exact: Bool, filter: SearchFilter) async throws -> [SearchHit]

    /// Every stored vector whose score against `vector` is at least `minimumScore` and that passes `filter`:
    /// the page `offset ..< offset + limit` of them, best first, and how many there are in all.
    func search(
        vector: [Float], minimumScore: Float, filter: SearchFilter, offset: Int, limit: Int
    ) async throws
        -> RangePage

    /// The stored vectors of `ids` (ids the store does not hold are left out).
    func vectors(ids: [Int64]) async throws -> [Int64: [Float]]

    /// Number of stored items.
    func count() async throws -> Int

    /// Path, class and footprint of stored items (ids the store does not hold are left out). A store shared by
    /// several catalogs answers for items the caller's catalog does not have; the embedded store has none
    /// beyond its catalog and answers nothing.
    func records(ids: [Int64]) async throws -> [Int64: StoreRecord]
}

extension VectorStore {
    public func records(ids: [Int64]) async throws -> [Int64: StoreRecord] { [:] }

    /// Refuses a query vector of the wrong length or with NaN/infinite values — a thrown error at every
    /// optimisation level, never an out-of-bounds read in the kernels below.
    public func validateQuery(_ vector: [Float]) throws {
        guard vector.count == dimensions else {
            throw StoreError.invalidInput(
                store: storeDescription,
                reason: "query has \(vector.count) values, "
                    + "the store holds \(dimensions)-dimensional vectors of '\(modelID)'")
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw StoreError.invalidInput(store: storeDescription, reason: "query contains NaN or infinite values")
        }
    }

    /// Refuses a negative offset or limit.
    public func validatePage(offset: Int, limit: Int) throws {
        guard offset >= 0, limit >= 0 else {
            throw StoreError.invalidInput(store: storeDescription, reason: "offset and limit must not be negative")
        }
    }
}

/// The embedded default store behind ``VectorStore``: the SQLite ``Catalog`` holds the rows and embeddings,
/// the exact cosine index file beside it is mapped on first search, and the HNSW file is used when it is
/// current (both rebuilt from the catalog when its revision moves on).
///
/// Items are keyed by path, so ``upsert(items:)`` ignores `StoreItem.id` and returns the catalog's ids;
/// a footprint is recorded as a chip row spanning the image; binary codes are not stored.
public final class EmbeddedStore: VectorStore, @unchecked Sendable {
    /// The catalog holding rows and embeddings.
    public let catalog: Catalog
    public let modelID: String
    public let dimensions: Int
    public var storeDescription: String { catalog.path }
    /// Whether approximate searches may use the catalog's HNSW file (when current).
    public let usesGraph: Bool
    private let lock = NSLock()
    private var cached: (key: IndexKey, flat: FlatIndex, graph: HNSWIndex?, rows: [Int64: Int])?
    private var lastCheck: Date?
    /// A query is re-reading the revision now (the others keep using the mapped indexes meanwhile).
    private var checking = false
    /// How long the mapped indexes are used before the catalog revision and graph file are checked again
    /// (0: before every query, the default; a server sets a fraction of a second to keep SQLite out of the
    /// per-request path while items indexed beside it still appear within that time).
    public var refreshInterval: TimeInterval = 0

    /// What the mapped indexes were built for: the catalog revision and the graph file's state, so that a
    /// graph written after the store opened (an `index --hnsw` run beside a server) is picked up.
    private struct IndexKey: Equatable {
        let revision: UInt64
        let graphFile: Date?
    }

    /// Wraps `catalog`, binding it to `binding` first when given.
    /// - Parameter usesGraph: let approximate searches walk the HNSW file when it is current.
    /// - Throws: `CatalogError` when the catalog is bound to another model, or is unbound and no binding is given.
    public init(catalog: Catalog, binding: ModelBinding? = nil, usesGraph: Bool = true) throws {
        if let binding { try catalog.bind(binding) }
        guard let bound = try catalog.binding() else {
            throw CatalogError.unbound(path: catalog.path)
        }
        self.catalog = catalog
        self.modelID = bound.modelID
        self.dimensions = bound.dimensions
        self.usesGraph = usesGraph
    }

    @discardableResult
    public func upsert(items: [StoreItem]) async throws -> [Int64] {
        let records = items.map { item in
            (
                record: ImageRecord(
                    path: item.path, className: item.className, width: 0, height: 0, byteSize: 0,
                    modifiedAt: 0, contentHash: "", modelID: modelID),
                embedding: item.vector
            )
        }
        let ids = try catalog.upsert(records)
        let chips: [(id: Int64, chip: ChipInfo)] = zip(ids, items).compactMap { id, item in
            guard let box = item.footprint else { return nil }
            let ring = [
                [box.minLon, box.minLat], [box.maxLon, box.minLat], [box.maxLon, box.maxLat],
                [box.minLon, box.maxLat], [box.minLon, box.minLat]
            ]
            return (id, ChipInfo(scenePath: item.path, x: 0, y: 0, width: 0, height: 0, footprint: ring))
        }
        try catalog.setChips(chips)
        return ids
    }

    public func search(
        vector: [Float], k: Int, exact: Bool = false, filter: SearchFilter = .none
    ) async throws
        -> [SearchHit]
    {
        try validateQuery(vector)
        guard k > 0 else { return [] }
        let indexes = try current()
        guard let graph = indexes.graph, !exact else {
            return try indexes.flat.search(vector, k: k, filter: filter, in: catalog)
        }
        return graph.search(
            vector, k: k, efSearch: nil, allowed: try filter.candidates(in: catalog), excluding: filter.excluded)
    }

    /// Range search over the exact index: every candidate is scored once (one matrix–vector product), so the
    /// whole result and its count are exact whatever the threshold.
    public func search(
        vector: [Float], minimumScore: Float, filter: SearchFilter = .none, offset: Int = 0,
        limit: Int = .max
    ) async throws -> RangePage {
        try validateQuery(vector)
        try validatePage(offset: offset, limit: limit)
        let indexes = try current()
        let allowed = try filter.candidates(in: catalog)
        let excluded = filter.excluded
        let accept: (@Sendable (Int64) -> Bool)?
        switch (allowed, excluded.isEmpty) {
        case (nil, true): accept = nil
        case (nil, false): accept = { !excluded.contains($0) }
        case (let allowed?, _): accept = { allowed.contains($0) && !excluded.contains($0) }
        }
        let all = indexes.flat.search(vector, minimumScore: minimumScore, accept: accept)
        let start = min(offset, all.count)
        let end = start + min(limit, all.count - start)
        return RangePage(hits: Array(all[start..<end]), total: all.count)
    }

    /// The stored vectors of `ids`, read from the mapped exact index (unit length, as searches compare them),
    /// so that a query by item touches no SQLite row.
    public func vectors(ids: [Int64]) async throws -> [Int64: [Float]] {
        let indexes = try current()
        var out: [Int64: [Float]] = [:]
        for id in ids { if let row = indexes.rows[id] { out[id] = indexes.flat.vector(atRow: row) } }
        return out
    }

    public func count() async throws -> Int { try current().flat.count }

    /// Whether the HNSW graph answers approximate searches now (a current file was found).
    public func hasGraph() throws -> Bool { try current().graph != nil }

    /// The exact index over the catalog's embeddings: the catalog's mapped `-flat.ssidx` file when current,
    /// else rebuilt from the catalog and saved (``CatalogIndexFile``).
    public func flatIndex() throws -> FlatIndex { try current().flat }

    /// The indexes for the catalog's current revision: mapped once, swapped when another process (an
    /// `index` run beside a server) has moved the catalog on.
    private func current() throws -> (flat: FlatIndex, graph: HNSWIndex?, rows: [Int64: Int]) {
        if refreshInterval > 0 {
            // One query at a time re-reads the revision when the interval is up; the rest answer from the mapped
            // indexes meanwhile instead of all reading SQLite and stat-ing the graph file at the same moment.
            let reuse = lock.withLock { () -> (flat: FlatIndex, graph: HNSWIndex?, rows: [Int64: Int])? in
                guard let cached else { return nil }
                let fresh = lastCheck.map { Date().timeIntervalSince($0) < refreshInterval } ?? false
                if fresh || checking { return (cached.flat, cached.graph, cached.rows) }
                checking = true
                return nil
            }
            if let reuse { return reuse }
        }
        defer {
            lock.withLock {
                lastCheck = Date(); checking = false
            }
        }
        let graphPath = CatalogIndexFile.path(forCatalog: catalog.path, kind: .hnsw)
        let key = IndexKey(
            revision: try catalog.embeddingRevision(),
            graphFile: usesGraph
                ? (try? FileManager.default.attributesOfItem(atPath: graphPath))?[.modificationDate] as? Date : nil)
        if let cached = lock.withLock({ self.cached }), cached.key == key {
            return (cached.flat, cached.graph, cached.rows)
        }
        let previous = lock.withLock { self.cached }
        // The flat index only depends on the revision: keep it when just the graph file changed.
        let sameRevision = previous?.key.revision == key.revision
        let flat = sameRevision ? previous!.flat : try CatalogIndexFile.loadFlat(catalog: catalog).index
        let rows =
            sameRevision
            ? previous!.rows
            : Dictionary(flat.ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let graph = usesGraph && key.graphFile != nil ? CatalogIndexFile.openCurrentHNSW(catalog: catalog) : nil
        lock.withLock { self.cached = (key, flat, graph, rows) }
        return (flat, graph, rows)
    }
}
