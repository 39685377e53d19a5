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
        guard !items.isEmpty else { return [] }
        return try pool.write { db in
            guard let binding = try Self.binding(db) else { throw CatalogError.unbound(path: self.path) }
            let insertImage = try db.cachedStatement(sql: """
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
            let upsertEmbedding = try db.cachedStatement(sql: """
                INSERT INTO embedding (imageId, modelID, dimensions, vector) VALUES (?, ?, ?, ?)
                ON CONFLICT(imageId, modelID) DO UPDATE SET
                    dimensions = excluded.dimensions, vector = excluded.vector
                """)
            let dropOtherModels = try db.cachedStatement(
                sql: "DELETE FROM embedding WHERE imageId = ? AND modelID <> ?")

            var ids: [Int64] = []
            ids.reserveCapacity(items.count)
            for (record, embedding) in items {
                let imagePath = Self.canonicalPath(record.path)
                let modelID = record.modelID.isEmpty ? binding.modelID : record.modelID
                guard modelID == binding.modelID else {
                    throw CatalogError.modelMismatch(path: self.path, indexModel: binding.modelID,
                                                     requested: modelID)
                }
                guard embedding.count == binding.dimensions else {
                    throw CatalogError.invalidEmbedding(
                        imagePath: imagePath,
                        reason: "expected \(binding.dimensions) values, got \(embedding.count)")
                }
                guard embedding.allSatisfy(\.isFinite) else {
                    throw CatalogError.invalidEmbedding(imagePath: imagePath,
                                                        reason: "it contains NaN or infinite values")
                }
                let arguments: StatementArguments = [
                    imagePath, record.className, record.width, record.height, record.byteSize,
                    record.modifiedAt, record.contentHash, modelID, record.addedAt,
                ]
                guard let id = try Int64.fetchOne(insertImage, arguments: arguments) else {
                    throw CatalogError.corrupt(path: self.path, reason: "no row id returned for '\(imagePath)'")
                }
                try upsertEmbedding.execute(arguments: [id, modelID, embedding.count,
                                                        EmbeddingCodec.encode(embedding)])
                try dropOtherModels.execute(arguments: [id, modelID])
                ids.append(id)
            }
            return ids
        }
    }

    /// All embeddings of the bound model as one row-major `ids.count × dimensions`
    /// matrix, with `ids` in the same order (ascending id). Empty (dimensions 0)
    /// before any model is bound.
    public func embeddings() throws -> (ids: [Int64], vectors: [Float], dimensions: Int) {
        try pool.read { db in
            guard let binding = try Self.binding(db) else { return ([], [], 0) }
            let dims = binding.dimensions
            let expected = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM embedding WHERE modelID = ?",
                                            arguments: [binding.modelID]) ?? 0
            var ids: [Int64] = []
            var vectors: [Float] = []
            ids.reserveCapacity(expected)
            vectors.reserveCapacity(expected * dims)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT imageId, vector FROM embedding WHERE modelID = ? ORDER BY imageId
                """, arguments: [binding.modelID])
            while let row = try rows.next() {
                let id: Int64 = row[0]
                try row.withUnsafeData(atIndex: 1) { blob in
                    guard let blob, blob.count == dims * 4 else {
                        throw CatalogError.corrupt(path: self.path, reason: "embedding of image \(id) "
                                                   + "is not \(dims) float32 values")
                    }
                    EmbeddingCodec.append(blob, to: &vectors)
                }
                ids.append(id)
            }
            return (ids, vectors, dims)
        }
    }

    /// The bound model's embedding of image `id`, or `nil` when there is none.
    public func embedding(id: Int64) throws -> [Float]? {
        try pool.read { db in
            guard let binding = try Self.binding(db),
                  let blob = try Data.fetchOne(db, sql: """
                      SELECT vector FROM embedding WHERE imageId = ? AND modelID = ?
                      """, arguments: [id, binding.modelID])
            else { return nil }
            guard blob.count == binding.dimensions * 4 else {
                throw CatalogError.corrupt(path: self.path, reason: "embedding of image \(id) "
                                           + "is not \(binding.dimensions) float32 values")
            }
            return EmbeddingCodec.decode(blob)
        }
    }

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
