import Foundation
import SatSeekStore
import SatSeekCatalog

/// What ``PostgresStore/sync(from:chunkSize:progress:)`` did.
public struct StoreSyncReport: Sendable, Codable, Equatable {
    /// Items sent (every embedded item of the catalog).
    public var upserted: Int
    /// Rows new to the store, and rows changed; the rest of ``upserted`` were stored already as they are.
    public var added: Int
    public var changed: Int
    /// Rows deleted because the catalog no longer has them.
    public var removed: Int
    /// Rows in the store afterwards.
    public var total: Int
    /// Wall time in seconds.
    public var seconds: Double
}

extension PostgresStore {
    /// Makes this writer's part of the store mirror `catalog`: every image with an embedding of the bound model is
    /// upserted under its catalog id (class, path, chip footprint box), in transactions of `chunkSize` rows (a
    /// crash loses at most the one in flight; rows already stored as they are are not rewritten); rows this
    /// writer stored whose ids the catalog no longer has are deleted; the HNSW index is built (once, after
    /// loading) when missing. Other writers' rows are left alone, except a path both stored: the last sync wins.
    ///
    /// - Throws: ``PostgresStoreError/modelMismatch(url:table:storedModel:storedDimensions:requestedModel:requestedDimensions:)``
    ///   when the catalog is bound to another model than this store's.
    @discardableResult
    /// - Parameter progress: called after every committed chunk with the rows sent so far and the total.
    public func sync(
        from catalog: Catalog, chunkSize: Int = 5000, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> StoreSyncReport {
        let started = Date()
        guard let binding = try catalog.binding(), binding.modelID == modelID, binding.dimensions == dimensions else {
            let binding = try catalog.binding()
            throw PostgresStoreError.modelMismatch(
                url: location.description, table: itemsTable, storedModel: modelID, storedDimensions: dimensions,
                requestedModel: binding?.modelID ?? "(none: \(catalog.path) is empty)",
                requestedDimensions: binding?.dimensions ?? 0)
        }
        let stored = try catalog.embeddings()
        let d = stored.dimensions
        let step = max(1, chunkSize)
        var upserted = 0
        var added = 0
        var changed = 0
        var start = 0
        while start < stored.ids.count {
            let ids = Array(stored.ids[start..<min(start + step, stored.ids.count)])
            let records = try catalog.records(ids: ids)
            let chips = try catalog.chips(ids: ids)
            var items: [StoreItem] = []
            items.reserveCapacity(ids.count)
            for (offset, id) in ids.enumerated() {
                guard let record = records[id] else { continue }
                let row = start + offset
                var box: GeoBox?
                if let chip = chips[id], let minLon = chip.minLon, let minLat = chip.minLat,
                    let maxLon = chip.maxLon, let maxLat = chip.maxLat
                {
                    box = GeoBox(minLon: minLon, minLat: minLat, maxLon: maxLon, maxLat: maxLat)
                }
                items.append(
                    StoreItem(
                        id: id, path: record.path, className: record.className, footprint: box,
                        vector: Array(stored.vectors[row * d..<(row + 1) * d])))
            }
            let counts = try await write(items: items, buildIndex: false)
            upserted += items.count
            progress?(min(start + step, stored.ids.count), stored.ids.count)
            added += counts.added
            changed += counts.changed
            start += step
        }
        let removed = try await removeAll(except: stored.ids)
        try await ensureIndex()
        let total = try await count()
        return StoreSyncReport(
            upserted: upserted, added: added, changed: changed, removed: removed, total: total,
            seconds: Date().timeIntervalSince(started))
    }
}
