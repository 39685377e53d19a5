import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekStore

/// Item metadata (what `/api/items/{id}` answers and every result card shows) by id: read in one pass at
/// start-up so that a search touches SQLite only for its query, and read on first use for items indexed
/// after the server started (remembered, as are ids that do not exist until the catalog moves on).
final class ItemDirectory: @unchecked Sendable {
    private let catalog: Catalog
    private let lock = NSLock()
    private var entries: [Int64: ItemResponse]
    private var missing: (revision: UInt64, ids: Set<Int64>) = (0, [])
    /// Each item's JSON as answered, encoded on first use (at most `maximumEncoded` kept).
    private var encoded: [Int64: Data] = [:]
    private static let maximumEncoded = 200_000

    private let gazetteer: Gazetteer?
    /// Paths of items this catalog does not hold but a shared store returned (other writers' items), by id.
    private var foreignPaths: [Int64: String] = [:]

    init(catalog: Catalog, gazetteer: Gazetteer?) throws {
        self.catalog = catalog
        self.gazetteer = gazetteer
        let records = try catalog.allRecords()
        let chips = try catalog.chips(ids: records.compactMap(\.id))
        entries = Dictionary(
            uniqueKeysWithValues: records.compactMap { record in
                record.id.map { ($0, ItemResponse(record: record, chip: chips[$0], gazetteer: gazetteer)) }
            })
    }

    /// The entry of `id`, or nil when the catalog holds no such item.
    func entry(_ id: Int64) throws -> ItemResponse? {
        if let found = lock.withLock({ entries[id] }) { return found }
        let revision = try catalog.embeddingRevision()
        if lock.withLock({ missing.revision == revision && missing.ids.contains(id) }) { return nil }
        guard let record = try catalog.record(id: id) else {
            lock.withLock {
                if missing.revision != revision { missing = (revision, []) }
                if missing.ids.count < 100_000 { missing.ids.insert(id) }
            }
            return nil
        }
        let entry = ItemResponse(record: record, chip: try catalog.chips(ids: [id])[id], gazetteer: gazetteer)
        lock.withLock { entries[id] = entry }
        return entry
    }

    /// Remembers items a shared store returned that this catalog does not hold (other machines' items): their
    /// path and class as the store has them (no size, place or date — those live in the other catalog).
    func learn(_ records: [Int64: StoreRecord]) {
        lock.withLock {
            for (id, record) in records where entries[id] == nil {
                let row = ImageRecord(
                    id: id, path: record.path, className: record.className, width: 0, height: 0, byteSize: 0,
                    modifiedAt: 0, contentHash: "", modelID: "")
                entries[id] = ItemResponse(record: row, chip: nil, gazetteer: nil)
                foreignPaths[id] = record.path
            }
        }
    }

    /// The path of another writer's item learnt from the store (the renderer reads it; never a client's path).
    func foreignPath(_ id: Int64) -> String? { lock.withLock { foreignPaths[id] } }

    /// `item` as JSON, encoded once and kept (results repeat the same items across requests).
    func json(of item: ItemResponse, encoder: JSONEncoder) throws -> Data {
        if let data = lock.withLock({ encoded[item.id] }) { return data }
        let data = try encoder.encode(item)
        lock.withLock { if encoded.count < Self.maximumEncoded { encoded[item.id] = data } }
        return data
    }
}
