import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekStore

/// A box in degrees (EPSG:4326): items whose footprint box intersects it pass a ``VectorStore`` filter.
public struct GeoBox: Sendable, Equatable, Codable, Hashable {
    public var minLon: Double, minLat: Double, maxLon: Double, maxLat: Double

    /// Creates a box; `min` values must not exceed `max` values.
    public init(minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) {
        self.minLon = minLon
        self.minLat = minLat
        self.maxLon = maxLon
        self.maxLat = maxLat
    }

    /// `true` when the two boxes overlap (touching edges count).
    public func intersects(_ other: GeoBox) -> Bool {
        minLon <= other.maxLon && maxLon >= other.minLon && minLat <= other.maxLat && maxLat >= other.minLat
    }
}

/// One item to store: an image's id, path, class, optional footprint box and embedding, and optionally a
/// binary code (packed bits, most significant bit first) for Hamming search.
public struct StoreItem: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var className: String
    public var footprint: GeoBox?
    public var vector: [Float]
    public var code: [UInt8]?

    public init(id: Int64, path: String, className: String, footprint: GeoBox? = nil, vector: [Float],
                code: [UInt8]? = nil) {
        self.id = id
        self.path = path
        self.className = className
        self.footprint = footprint
        self.vector = vector
        self.code = code
    }
}

/// Where embeddings of one model live and are searched by cosine similarity.
///
/// Two stores conform:
/// - ``EmbeddedStore``: the default, embedded in the process — the SQLite catalog (`SatSeekCatalog`)
///   plus the exact index file kept beside it (`CatalogIndexFile`, what `Searcher` uses).
/// - ``PostgresStore``: PostgreSQL with pgvector, for collections that outgrow one process's memory or
///   are shared by several; exact scans or an HNSW index.
///
/// Scores are cosine similarities (higher is better); hits are sorted best first, ties by smaller id.
public protocol VectorStore: Sendable {
    /// The model whose embeddings the store holds; another model's vectors are refused.
    var modelID: String { get }
    /// Length of every stored vector.
    var dimensions: Int { get }

    /// Inserts or replaces items (keyed by id; in one transaction) and returns the ids they are stored
    /// under, in order. ``EmbeddedStore`` keys rows by path and returns the catalog's ids.
    @discardableResult
    func upsert(items: [StoreItem]) async throws -> [Int64]

    /// The `k` most similar stored vectors to `vector`.
    /// - Parameters:
    ///   - exact: `true` scans every candidate (exact results); `false` lets the store use an approximate
    ///     index where it has one (``EmbeddedStore`` is always exact).
    ///   - allowedIDs: when given, only these ids are candidates.
    ///   - boundingBox: when given, only items whose footprint box intersects it are candidates
    ///     (items without a footprint never are).
    func search(vector: [Float], k: Int, exact: Bool, allowedIDs: Set<Int64>?, boundingBox: GeoBox?) async throws
        -> [SearchHit]

    /// Number of stored items.
    func count() async throws -> Int
}

/// The embedded default store behind ``VectorStore``: the SQLite ``Catalog`` holds the rows and embeddings,
/// and the exact cosine index file beside it is mapped on first search (rebuilt when an upsert made it stale).
///
/// Items are keyed by path, so ``upsert(items:)`` ignores `StoreItem.id` and returns the catalog's ids;
/// a footprint is recorded as a chip row spanning the image; binary codes are not stored.
public final class EmbeddedStore: VectorStore, @unchecked Sendable {
    /// The catalog holding rows and embeddings.
    public let catalog: Catalog
    public let modelID: String
    public let dimensions: Int
    private let lock = NSLock()
    private var cachedIndex: FlatIndex?

    /// Wraps `catalog`, binding it to `binding` first when given.
    /// - Throws: `CatalogError` when the catalog is bound to another model, or is unbound and no binding is given.
    public init(catalog: Catalog, binding: ModelBinding? = nil) throws {
        if let binding { try catalog.bind(binding) }
        guard let bound = try catalog.binding() else {
            throw CatalogError.unbound(path: catalog.path)
        }
        self.catalog = catalog
        self.modelID = bound.modelID
        self.dimensions = bound.dimensions
    }

    @discardableResult
    public func upsert(items: [StoreItem]) async throws -> [Int64] {
        let records = items.map { item in
            (record: ImageRecord(path: item.path, className: item.className, width: 0, height: 0, byteSize: 0,
                                 modifiedAt: 0, contentHash: "", modelID: modelID),
             embedding: item.vector)
        }
        let ids = try catalog.upsert(records)
        let chips: [(id: Int64, chip: ChipInfo)] = zip(ids, items).compactMap { id, item in
            guard let box = item.footprint else { return nil }
            let ring = [[box.minLon, box.minLat], [box.maxLon, box.minLat], [box.maxLon, box.maxLat],
                        [box.minLon, box.maxLat], [box.minLon, box.minLat]]
            return (id, ChipInfo(scenePath: item.path, x: 0, y: 0, width: 0, height: 0, footprint: ring))
        }
        try catalog.setChips(chips)
        lock.withLock { cachedIndex = nil }
        return ids
    }

    public func search(vector: [Float], k: Int, exact: Bool = true, allowedIDs: Set<Int64>? = nil,
                       boundingBox: GeoBox? = nil) async throws -> [SearchHit] {
        guard vector.count == dimensions else {
            throw PostgresStoreError.invalidInput(table: catalog.path, reason: "query has \(vector.count) values, "
                                                  + "the store holds \(dimensions)-dimensional vectors")
        }
        let index = try flatIndex()
        var allowed = allowedIDs
        if let box = boundingBox {
            let inside = try catalog.chipIDs(intersectingMinLon: box.minLon, minLat: box.minLat,
                                             maxLon: box.maxLon, maxLat: box.maxLat)
            allowed = allowed.map { $0.intersection(inside) } ?? inside
        }
        if let allowed { return index.search(vector, k: k, allowed: allowed) }
        return index.search(vector, k: k)
    }

    public func count() async throws -> Int { try flatIndex().count }

    /// The exact index over the catalog's embeddings: the catalog's mapped `-flat.ssidx` file when current,
    /// else rebuilt from the catalog and saved (``CatalogIndexFile``); cached until the next upsert.
    public func flatIndex() throws -> FlatIndex {
        if let index = lock.withLock({ cachedIndex }) { return index }
        let index = try CatalogIndexFile.loadFlat(catalog: catalog).index
        lock.withLock { cachedIndex = index }
        return index
    }
}
