import Foundation
import GRDB

extension Catalog {
    /// Inserts or replaces a batch of images with their embeddings in ONE
    /// transaction and returns their row ids in order.
    ///
    /// Rows are keyed by path (canonicalised with ``canonicalPath(_:)``; `record.id`
    /// is ignored): an existing path keeps its row id, its fields are overwritten and
    /// its embedding replaced, so re-running never duplicates. A record with an
    /// empty `modelID` takes the bound model's id. Nothing is written when any item
    /// fails validation.
    ///
    /// - Throws: ``CatalogError/unbound(path:)`` before ``bind(_:)``;
    ///   ``CatalogError/modelMismatch(path:indexModel:requested:)`` when a record names
    ///   another model; ``CatalogError/invalidEmbedding(imagePath:reason:)`` for a
    ///   wrong-length or non-finite embedding.
    @discardableResult
    public func upsert(_ items: [(record: ImageRecord, embedding: [Float])]) throws -> [Int64] {
        try upsert(items.map { CatalogItem(record: $0.record, embedding: $0.embedding) })
    }

    /// Like ``upsert(_:)-([(ImageRecord,[Float])])`` but also stores each item's auxiliary
    /// embeddings (sketch-domain vectors, learned-head embeddings, …) in the same transaction.
    /// Auxiliary embeddings an item had before and does not carry now are dropped, since they
    /// were computed from the old content.
    @discardableResult
    public func upsert(_ items: [CatalogItem]) throws -> [Int64] {
        guard !items.isEmpty else { return [] }
        return try pool.write { db in
            guard let binding = try Self.binding(db) else { throw CatalogError.unbound(path: self.path) }
            let insertImage = try db.cachedStatement(
                sql: """
                    INSERT INTO image (path, className, width, height, byteSize, modifiedAt,
                                       contentHash, modelID, addedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET
                        className = excluded.className, width = excluded.width,
                        height = excluded.height, byteSize = excluded.byteSize,
                        modifiedAt = excluded.modifiedAt, contentHash = excluded.contentHash,
                        modelID = excluded.modelID, addedAt = excluded.addedAt
                    RETURNING id
                    """)
            let upsertEmbedding = try db.cachedStatement(
                sql: """
                    INSERT INTO embedding (imageId, modelID, dimensions, vector) VALUES (?, ?, ?, ?)
                    ON CONFLICT(imageId, modelID) DO UPDATE SET
                        dimensions = excluded.dimensions, vector = excluded.vector
                    """)
            let dropStale = try db.cachedStatement(
                sql:
                    "DELETE FROM embedding WHERE imageId = ? AND modelID <> ? AND modelID NOT IN (SELECT value FROM json_each(?))"
            )

            var ids: [Int64] = []
            ids.reserveCapacity(items.count)
            for item in items {
                let (record, embedding) = (item.record, item.embedding)
                let imagePath = Self.canonicalPath(record.path)
                let modelID = record.modelID.isEmpty ? binding.modelID : record.modelID
                guard modelID == binding.modelID else {
                    throw CatalogError.modelMismatch(
                        path: self.path, indexModel: binding.modelID,
                        requested: modelID)
                }
                guard embedding.count == binding.dimensions else {
                    throw CatalogError.invalidEmbedding(
                        imagePath: imagePath,
                        reason: "expected \(binding.dimensions) values, got \(embedding.count)")
                }
                guard embedding.allSatisfy(\.isFinite) else {
                    throw CatalogError.invalidEmbedding(
                        imagePath: imagePath,
                        reason: "it contains NaN or infinite values")
                }
                let arguments: StatementArguments = [
                    imagePath, record.className, record.width, record.height, record.byteSize,
                    record.modifiedAt, record.contentHash, modelID, record.addedAt
                ]
                guard let id = try Int64.fetchOne(insertImage, arguments: arguments) else {
                    throw CatalogError.corrupt(path: self.path, reason: "no row id returned for '\(imagePath)'")
                }
                try upsertEmbedding.execute(arguments: [
                    id, modelID, embedding.count,
                    EmbeddingCodec.encode(embedding)
                ])
                var auxiliaryKeys: [String] = []
                for (kind, vector) in item.auxiliary.sorted(by: { $0.key < $1.key }) {
                    guard !vector.isEmpty, vector.allSatisfy(\.isFinite) else {
                        throw CatalogError.invalidEmbedding(
                            imagePath: imagePath,
                            reason: "auxiliary '\(kind)' is empty or not finite")
                    }
                    let key = Self.auxiliaryKey(modelID: modelID, kind: kind)
                    try upsertEmbedding.execute(arguments: [id, key, vector.count, EmbeddingCodec.encode(vector)])
                    auxiliaryKeys.append(key)
                }
                let keep = String(decoding: try JSONEncoder().encode(auxiliaryKeys), as: UTF8.self)
                try dropStale.execute(arguments: [id, modelID, keep])
                if let chip = item.chip { try Self.writeChip(db, id: id, chip: chip) }
                ids.append(id)
            }
            return ids
        }
    }

    /// Whether image `id` has an embedding of the bound model (a row can lose it: a damaged catalog, a deleted
    /// embedding row). `index` re-embeds images without one.
    public func hasEmbedding(id: Int64) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS(SELECT 1 FROM embedding WHERE imageId = ?
                                  AND modelID = (SELECT value FROM meta WHERE key = ?))
                    """, arguments: [id, MetaKey.modelID]) ?? false
        }
    }

    /// All embeddings of the bound model as one row-major `ids.count × dimensions`
    /// matrix, with `ids` in the same order (ascending id). Empty (dimensions 0)
    /// before any model is bound.
    public func embeddings() throws -> (ids: [Int64], vectors: [Float], dimensions: Int) {
        try embeddings(kind: nil)
    }

    /// All embeddings of one kind (`nil` = the bound model's primary embedding, else an auxiliary
    /// kind stored with ``upsert(_:)-([CatalogItem])``), ordered by image id. Images without that
    /// kind are absent.
    public func embeddings(kind: String?) throws -> (ids: [Int64], vectors: [Float], dimensions: Int) {
        try pool.read { db in try readEmbeddings(db, kind: kind) }
    }

    /// The bound model's embeddings (as ``embeddings()``) together with the ``embeddingRevision()`` they
    /// belong to, read in one transaction.
    public func embeddingsWithRevision() throws -> (ids: [Int64], vectors: [Float], dimensions: Int, revision: UInt64) {
        try pool.read { db in
            let matrix = try readEmbeddings(db, kind: nil)
            return (matrix.ids, matrix.vectors, matrix.dimensions, try Self.embeddingRevision(db))
        }
    }

    /// A counter that changes whenever a primary embedding (the bound model's) is added, replaced or removed
    /// (kept by SQLite triggers, so every writer bumps it; auxiliary kinds do not count). Index files built from the embeddings record it to detect staleness.
    public func embeddingRevision() throws -> UInt64 {
        try pool.read { db in try Self.embeddingRevision(db) }
    }

    /// The catalog's identity: a UUID created with it, never reused by another catalog at the same path.
    public func identity() throws -> UUID {
        let text = try pool.read { db in try CatalogSchema.meta(db, MetaKey.catalogID) }
        guard let text, let id = UUID(uuidString: text) else {
            throw CatalogError.corrupt(path: path, reason: "no catalog identity in its meta table")
        }
        return id
    }

    static func embeddingRevision(_ db: Database) throws -> UInt64 {
        UInt64(try CatalogSchema.meta(db, MetaKey.embeddingRevision) ?? "0") ?? 0
    }

    private func readEmbeddings(
        _ db: Database, kind: String?
    ) throws -> (ids: [Int64], vectors: [Float], dimensions: Int) {
        guard let binding = try Self.binding(db) else { return ([], [], 0) }
        let key = kind.map { Self.auxiliaryKey(modelID: binding.modelID, kind: $0) } ?? binding.modelID
        let dims: Int
        if kind == nil {
            dims = binding.dimensions
        } else {
            dims =
                try Int.fetchOne(
                    db, sql: "SELECT dimensions FROM embedding WHERE modelID = ? LIMIT 1",
                    arguments: [key]) ?? 0
        }
        let expected =
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM embedding WHERE modelID = ?",
                arguments: [key]) ?? 0
        var ids: [Int64] = []
        var vectors: [Float] = []
        ids.reserveCapacity(expected)
        vectors.reserveCapacity(expected * dims)
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT imageId, vector FROM embedding WHERE modelID = ? ORDER BY imageId
                """, arguments: [key])
        while let row = try rows.next() {
            let id: Int64 = row[0]
            try row.withUnsafeData(atIndex: 1) { blob in
                guard let blob, blob.count == dims * 4 else {
                    throw CatalogError.corrupt(
                        path: self.path,
                        reason: "embedding of image \(id) "
                            + "is not \(dims) float32 values")
                }
                EmbeddingCodec.append(blob, to: &vectors)
            }
            ids.append(id)
        }
        return (ids, vectors, dims)
    }

    /// The bound model's embedding of image `id`, or `nil` when there is none.
    public func embedding(id: Int64) throws -> [Float]? {
        try embedding(id: id, kind: nil)
    }

    /// Image `id`'s embedding of one kind (`nil` = primary), or `nil` when there is none.
    public func embedding(id: Int64, kind: String?) throws -> [Float]? {
        try pool.read { db in
            guard let binding = try Self.binding(db) else { return nil }
            let key = kind.map { Self.auxiliaryKey(modelID: binding.modelID, kind: $0) } ?? binding.modelID
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT vector, dimensions FROM embedding WHERE imageId = ? AND modelID = ?
                        """, arguments: [id, key])
            else { return nil }
            let blob: Data = row[0]
            let dimensions: Int = row[1]
            guard blob.count == dimensions * 4, kind != nil || dimensions == binding.dimensions else {
                throw CatalogError.corrupt(
                    path: self.path,
                    reason: "embedding of image \(id) "
                        + "is not \(dimensions) float32 values")
            }
            return EmbeddingCodec.decode(blob)
        }
    }

    /// The auxiliary kinds stored for image `id`.
    public func auxiliaryKinds(id: Int64) throws -> Set<String> {
        try pool.read { db in
            guard let binding = try Self.binding(db) else { return [] }
            let prefix = binding.modelID + "#"
            let keys = try String.fetchAll(db, sql: "SELECT modelID FROM embedding WHERE imageId = ?", arguments: [id])
            return Set(keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
        }
    }

    /// Every auxiliary kind stored for the bound model, with how many images have it.
    public func storedAuxiliaryKinds() throws -> [String: Int] {
        try pool.read { db in
            guard let binding = try Self.binding(db) else { return [:] }
            let prefix = binding.modelID + "#"
            // substr counts code points, as unicodeScalars does; the comparison is exact (LIKE would fold case).
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT modelID, COUNT(*) FROM embedding WHERE substr(modelID, 1, ?) = ? GROUP BY modelID
                    """, arguments: [prefix.unicodeScalars.count, prefix])
            var kinds: [String: Int] = [:]
            for row in rows {
                let key: String = row[0]
                kinds[String(key.dropFirst(prefix.count))] = row[1]
            }
            return kinds
        }
    }

    /// Storage key of an auxiliary embedding: `<model id>#<kind>`.
    static func auxiliaryKey(modelID: String, kind: String) -> String { "\(modelID)#\(kind)" }

    // MARK: - Removal

    /// Deletes the images with the given ids (and their embeddings) in one
    /// transaction; returns how many rows were deleted.
    @discardableResult
    public func remove(ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try pool.write { db in
            var deleted = 0
            var start = 0
            while start < ids.count {
                deleted += try ImageRecord.deleteAll(db, keys: Array(ids[start..<min(start + 500, ids.count)]))
                start += 500
            }
            return deleted
        }
    }

    /// Deletes records whose files no longer exist, optionally only those under
    /// `folder` (canonicalised); returns the removed ids, ascending.
    @discardableResult
    public func removeMissingFiles(under folder: String? = nil) throws -> [Int64] {
        let prefix = folder.map { Self.canonicalPath($0) }.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        let rows = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, path FROM image ORDER BY id")
                .map { (id: $0[0] as Int64, path: $0[1] as String) }
        }
        let gone = rows.filter { row in
            if let prefix, !row.path.hasPrefix(prefix) { return false }
            return !FileManager.default.fileExists(atPath: row.path)
        }.map(\.id)
        try remove(ids: gone)
        return gone
    }
}
