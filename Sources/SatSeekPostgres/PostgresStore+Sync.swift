import Foundation
import SatSeekStore
import SatSeekCatalog

/// What ``PostgresStore/sync(from:chunkSize:)`` did.
public struct StoreSyncReport: Sendable, Codable, Equatable {
    /// Rows written (inserted or replaced).
    public var upserted: Int
    /// Rows deleted because the catalog no longer has them.
    public var removed: Int
    /// Rows in the store afterwards.
    public var total: Int
    /// Wall time in seconds.
    public var seconds: Double
}

extension PostgresStore {
    /// Opens the store for the model `catalog` is bound to.
    /// - Throws: ``PostgresStoreError/invalidInput(table:reason:)`` when the catalog is not bound yet.
    public static func open(
        url: String, for catalog: Catalog,
        options: PostgresStoreOptions = PostgresStoreOptions()
    ) async throws -> PostgresStore {
        guard let binding = try catalog.binding() else {
            throw PostgresStoreError.invalidInput(
                table: catalog.path,
                reason: "the catalog is empty (no model bound); "
                    + "run `satseek index` first")
        }
        return try await open(url: url, modelID: binding.modelID, dimensions: binding.dimensions, options: options)
    }

    /// Makes the store mirror `catalog`: every image with an embedding of the bound model is upserted under its
    /// catalog id (class, path, chip footprint box), in transactions of `chunkSize` rows; rows whose ids the
    /// catalog no longer has are deleted; the HNSW index is built (once, after loading) when missing.
    ///
    /// - Throws: ``PostgresStoreError/modelMismatch(url:table:storedModel:storedDimensions:requestedModel:requestedDimensions:)``
    ///   when the catalog is bound to another model than this store's.
    @discardableResult
    public func sync(from catalog: Catalog, chunkSize: Int = 5000) async throws -> StoreSyncReport {
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
            try await upsert(items: items, buildIndex: false)
            upserted += items.count
            start += step
        }
        let removed = try await removeAll(except: stored.ids)
        try await ensureIndex()
        let total = try await count()
        return StoreSyncReport(
            upserted: upserted, removed: removed, total: total,
            seconds: Date().timeIntervalSince(started))
    }
}
