import Foundation
import SatSeekStore
import PostgresNIO
import SatSeekIndex

extension PostgresStore {
    // MARK: - Writing

    /// Inserts or replaces `items` by id — multi-row `INSERT … ON CONFLICT (path) DO UPDATE` in batches of
    /// ``PostgresStoreOptions/batchSize``, all in one transaction — then builds the HNSW index if it is missing.
    /// A row holding an item's path under another id takes the new id; a row holding the id under another path is
    /// replaced. Rows that would not change are left alone. Returns the ids, in order.
    ///
    /// - Throws: ``PostgresStoreError/invalidInput(table:reason:)`` for a wrong-length or non-finite vector or
    ///   a code that does not fit; ``PostgresStoreError/queryFailed(url:table:action:reason:)`` from the server.
    @discardableResult
    public func upsert(items: [StoreItem]) async throws -> [Int64] {
        try await upsert(items: items, buildIndex: true)
    }

    /// ``upsert(items:)`` with control over index building (bulk loads build it once at the end).
    @discardableResult
    public func upsert(items: [StoreItem], buildIndex: Bool) async throws -> [Int64] {
        _ = try await write(items: items, buildIndex: buildIndex)
        return items.map(\.id)
    }

    /// ``upsert(items:buildIndex:)`` that says how many rows were added and how many changed (the rest were
    /// stored already as they are).
    public func write(items: [StoreItem], buildIndex: Bool) async throws -> (added: Int, changed: Int) {
        guard !items.isEmpty else { return (0, 0) }
        try validate(items)
        // Later duplicates of an id or a path win; one INSERT may not touch a row twice.
        var seenIDs = Set<Int64>()
        var seenPaths = Set<String>()
        var unique: [StoreItem] = []
        for item in items.reversed() where !seenIDs.contains(item.id) && !seenPaths.contains(item.path) {
            seenIDs.insert(item.id)
            seenPaths.insert(item.path)
            unique.append(item)
        }
        unique.reverse()
        let batch = options.batchSize
        // A sharded write reads, then inserts (no ON CONFLICT through postgres_fdw): a writer that inserted one of
        // the same new paths first makes the shard's unique index refuse this transaction; written again, it finds
        // that row and replaces it.
        var attempt = 1
        while true {
            do {
                let counts = try await writeTransaction(unique, batch: batch)
                if buildIndex { try await ensureIndex() }
                return counts
            } catch let error as PostgresStoreError where isSharded && error.isUniqueViolation && attempt < 4 {
                attempt += 1
            }
        }
    }

    private func writeTransaction(_ unique: [StoreItem], batch: Int) async throws -> (added: Int, changed: Int) {
        try await transaction("upserting \(unique.count) items") { conn in
            var counts = (added: 0, changed: 0)
            var start = 0
            while start < unique.count {
                let chunk = Array(unique[start..<min(start + batch, unique.count)])
                let done =
                    self.isSharded
                    ? try await self.upsertChunkSharded(chunk, ids: chunk.map { self.storeID($0.id) }, on: conn)
                    : try await self.upsertChunk(chunk, on: conn)
                counts.added += done.added
                counts.changed += done.changed
                start += batch
            }
            return counts
        }
    }

    private func validate(_ items: [StoreItem]) throws {
        let codeBytes = options.codeBits.map { ($0 + 7) / 8 }
        for item in items {
            if writer != nil, !(0...Self.maximumLocalID).contains(item.id) {
                throw PostgresStoreError.invalidInput(
                    table: itemsTable, reason: "item id \(item.id) (\(item.path)) is outside 0…2⁴⁰ − 1")
            }
            guard item.vector.count == dimensions else {
                throw PostgresStoreError.invalidInput(
                    table: itemsTable,
                    reason: "item \(item.id) (\(item.path)) has "
                        + "\(item.vector.count) values, model '\(modelID)' has \(dimensions)")
            }
            guard item.vector.allSatisfy(\.isFinite) else {
                throw PostgresStoreError.invalidInput(
                    table: itemsTable,
                    reason: "item \(item.id) (\(item.path)) "
                        + "contains NaN or infinite values")
            }
            if let code = item.code {
                guard let codeBytes else {
                    throw PostgresStoreError.invalidInput(
                        table: itemsTable,
                        reason: "item \(item.id) carries a binary "
                            + "code, but the store was opened without codeBits")
                }
                guard code.count == codeBytes else {
                    throw PostgresStoreError.invalidInput(
                        table: itemsTable,
                        reason: "item \(item.id)'s code has "
                            + "\(code.count) bytes, \(options.codeBits!) bits need \(codeBytes)")
                }
            }
        }
    }

    private func upsertChunk(
        _ chunk: [StoreItem], on conn: PostgresConnection
    ) async throws -> (added: Int, changed: Int) {
        let ids = chunk.map { storeID($0.id) }
        // An id that now names another path replaces the row it named.
        var freeBinds = PostgresBindings()
        freeBinds.append(ids)
        freeBinds.append(chunk.map(\.path))
        try await exec(
            conn,
            """
            DELETE FROM \(itemsTable) AS t USING unnest($1::int8[], $2::text[]) AS b(id, path)
            WHERE t.id = b.id AND t.path <> b.path
            """, freeBinds)

        let withCode = options.codeBits != nil
        let (binds, rows) = valueRows(Array(zip(chunk, ids)), withCode: withCode)
        var columns = ["id", "class", "lon_min", "lat_min", "lon_max", "lat_max", "embedding", "writer"]
        if withCode { columns.append("code") }
        let rowsChanged =
            "(" + columns.map { "t.\($0)" }.joined(separator: ", ") + ") IS DISTINCT FROM ("
            + columns.map { "EXCLUDED.\($0)" }.joined(separator: ", ") + ")"
        let insertColumns = ["id", "path"] + columns.dropFirst()
        let result = try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(itemsTable) AS t (\(insertColumns.joined(separator: ", ")))
                    VALUES \(rows.joined(separator: ", "))
                    ON CONFLICT (path) DO UPDATE SET \(columns.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", "))
                    WHERE \(rowsChanged)
                    RETURNING (xmax = 0)
                    """, binds: binds), logger: logger)
        var counts = (added: 0, changed: 0)
        for try await inserted in result.decode(Bool.self) {
            if inserted { counts.added += 1 } else { counts.changed += 1 }
        }
        return counts
    }

    /// The `VALUES` rows of `items` under their store ids — `(id, path, class, lon_min, lat_min, lon_max, lat_max,
    /// embedding, writer[, code])` — and their bindings.
    func valueRows(_ items: [(StoreItem, Int64)], withCode: Bool) -> (binds: PostgresBindings, rows: [String]) {
        let writer = self.writer.map { Int32($0) }
        var binds = PostgresBindings(capacity: items.count * 10)
        var rows: [String] = []
        rows.reserveCapacity(items.count)
        for (item, id) in items {
            let n = binds.count
            binds.append(id)
            binds.append(item.path)
            binds.append(item.className)
            binds.append(item.footprint?.minLon)
            binds.append(item.footprint?.minLat)
            binds.append(item.footprint?.maxLon)
            binds.append(item.footprint?.maxLat)
            binds.append(PGVector(values: item.vector, oid: vectorOID))
            binds.append(writer)
            var row =
                "($\(n + 1)::int8, $\(n + 2)::text, $\(n + 3)::text, $\(n + 4)::float8, $\(n + 5)::float8, "
                + "$\(n + 6)::float8, $\(n + 7)::float8, $\(n + 8)::vector(\(dimensions)), $\(n + 9)::int4"
            if withCode, let bits = options.codeBits {
                binds.append(item.code.map { Self.bitString($0, bits: bits) })
                row += ", $\(n + 10)::text::bit(\(bits))"
            }
            rows.append(row + ")")
        }
        return (binds, rows)
    }

    /// Deletes every item whose id is not in `ids` — of a store opened for a catalog, only among the rows this
    /// writer stored (other writers' rows are theirs to remove); returns how many were deleted.
    @discardableResult
    public func removeAll(except ids: [Int64]) async throws -> Int {
        try await transaction("removing stale items") { conn in
            var binds = PostgresBindings()
            binds.append(ids.map(self.storeID))
            var condition = "NOT (id = ANY($1::int8[]))"
            if let writer = self.writer {
                binds.append(Int32(writer))
                condition += " AND writer = $2::int4"
            }
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH gone AS (DELETE FROM \(self.itemsTable) WHERE \(condition) RETURNING 1)
                        SELECT count(*)::int8 FROM gone
                        """, binds: binds), logger: self.logger)
            for try await n in rows.decode(Int64.self) { return Int(n) }
            return 0
        }
    }

    /// Creates the HNSW index(es) when missing: `hnsw (embedding vector_cosine_ops)` (or on `embedding_half`
    /// with `halfvec_cosine_ops`) with ``PostgresStoreOptions/hnswM`` and ``PostgresStoreOptions/hnswEfConstruction``,
    /// and `hnsw (code bit_hamming_ops)` when codes are stored. An existing index keeps its parameters
    /// (see ``rebuildIndex()``).
    public func ensureIndex() async throws {
        guard canIndex else { return }
        let with = "WITH (m = \(options.hnswM), ef_construction = \(options.hnswEfConstruction))"
        try await transaction("building the HNSW index") { conn in
            // Writers finishing together would race on CREATE INDEX IF NOT EXISTS (and on the binary centre).
            _ = try await conn.query(
                "SELECT pg_advisory_xact_lock(hashtext(\(self.schema + ".index")))", logger: self.logger)
            // A sharded store's indexes live on the workers.
            if self.isSharded { return try await self.ensureShardIndexes(conn) }
            try await self.exec(conn, "SET LOCAL maintenance_work_mem = '\(self.options.indexBuildMemoryMB)MB'")
            let existing = try await self.tableLayout(conn).indexes
            let column: String
            switch self.indexKind {
            case .full: column = "embedding vector_cosine_ops"
            case .half: column = "embedding_half halfvec_cosine_ops"
            case .binary:
                // The centre is fixed when the index is first built; rows added later are coded against it.
                if !existing.contains(self.vectorIndexName) {
                    let rows = try await conn.query(
                        PostgresQuery(unsafeSQL: "SELECT avg(embedding)::float4[] FROM \(self.itemsTable)"),
                        logger: self.logger)
                    var centre = [Float](repeating: 0, count: self.dimensions)
                    for try await mean in rows.decode([Float]?.self) { centre = mean ?? centre }
                    try await self.setMeta(conn, Self.binaryCentreKey, Self.vectorLiteral(centre))
                }
                let centre = try await self.binaryCentre(conn)
                column = "(\(self.binaryCode(of: "embedding", centre: centre))) bit_hamming_ops"
            }
            if !existing.contains(self.vectorIndexName) {
                try await self.exec(
                    conn,
                    "CREATE INDEX IF NOT EXISTS \(self.vectorIndexName) ON \(self.itemsTable) USING hnsw (\(column)) \(with)"
                )
            }
            if self.options.codeBits != nil, !existing.contains("satseek_items_code_hnsw") {
                try await self.exec(
                    conn,
                    "CREATE INDEX IF NOT EXISTS satseek_items_code_hnsw ON \(self.itemsTable) USING hnsw (code bit_hamming_ops) \(with)"
                )
            }
        }
    }

    static let binaryCentreKey = "binary_centre"

    /// Text parameters `$1, $2, …`.
    static func bindings(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }

    /// `[v1,v2,…]`, pgvector's text form of a vector (shortest round-tripping decimals).
    static func vectorLiteral(_ values: [Float]) -> String {
        "[" + values.map { $0.isFinite ? "\($0)" : "0" }.joined(separator: ",") + "]"
    }

    /// The centre of the binary index as a pgvector literal (zeros when none is recorded).
    func binaryCentre(_ conn: PostgresConnection) async throws -> String {
        let rows = try await conn.query(
            PostgresQuery(
                unsafeSQL: "SELECT value FROM \(metaTable) WHERE key = $1",
                binds: Self.bindings(Self.binaryCentreKey)),
            logger: logger)
        var centre = Self.vectorLiteral([Float](repeating: 0, count: dimensions))
        for try await value in rows.decode(String.self) { centre = value }
        // The literal comes from this store's own meta table and is checked to be a vector of numbers.
        guard centre.utf8.allSatisfy({ "0123456789.,-+eE[]".utf8.contains($0) }) else {
            throw PostgresStoreError.invalidInput(table: metaTable, reason: "the binary index centre is not a vector")
        }
        return centre
    }

    /// The SQL of the binary code of `expression` (a `vector(D)`), exactly as the index is built on it — the
    /// planner uses the index only for that expression: `binary_quantize(expression - 'centre')::bit(D)`.
    func binaryCode(of expression: String, centre: String) -> String {
        let d = dimensions
        return "binary_quantize(\(expression) - '\(centre)'::vector(\(d)))::bit(\(d))"
    }

    /// Drops and rebuilds the HNSW index(es) with the current options.
    public func rebuildIndex() async throws {
        try await transaction("dropping the HNSW index") { conn in
            try await self.exec(conn, "DROP INDEX IF EXISTS \(self.schema).\(self.vectorIndexName)")
            try await self.exec(conn, "DROP INDEX IF EXISTS \(self.schema).satseek_items_code_hnsw")
            try await self.exec(
                conn, "DELETE FROM \(self.metaTable) WHERE key = $1",
                Self.bindings(Self.binaryCentreKey))
        }
        if isSharded { try await dropShardIndexes() }
        try await ensureIndex()
    }

    // MARK: - Reading

    /// Number of stored items.
    public func count() async throws -> Int {
        try await transaction("counting") { conn in
            Int(try await self.scalar(conn, "SELECT count(*)::int8 FROM \(self.itemsTable)"))
        }
    }

    /// The stored embeddings of `ids`, keyed by id (unknown ids are absent).
    public func vectors(ids: [Int64]) async throws -> [Int64: [Float]] {
        guard !ids.isEmpty else { return [:] }
        return try await transaction("reading embeddings") { conn in
            var binds = PostgresBindings()
            binds.append(ids.map(self.storeID))
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: "SELECT id, embedding::float4[] FROM \(self.itemsTable) WHERE id = ANY($1::int8[])",
                    binds: binds), logger: self.logger)
            var result: [Int64: [Float]] = [:]
            for try await (id, vector) in rows.decode((Int64, [Float]).self) { result[self.callerID(id)] = vector }
            return result
        }
    }

    /// `bits` leading bits of `code` (most significant bit of each byte first) as a `0`/`1` string.
    static func bitString(_ code: [UInt8], bits: Int) -> String {
        var text = ""
        text.reserveCapacity(bits)
        for i in 0..<bits {
            text.append(code[i / 8] & (0x80 >> UInt8(i % 8)) != 0 ? "1" : "0")
        }
        return text
    }
}

/// A float vector bound as pgvector's `vector` in its binary wire format (int16 dimensions, int16 unused,
/// big-endian float4 values): one bulk copy instead of a `float4[]` array encoded element by element.
struct PGVector: PostgresDynamicTypeEncodable {
    let values: [Float]
    let oid: UInt32

    var psqlType: PostgresDataType { PostgresDataType(oid) }
    var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(Int16(values.count))
        buffer.writeInteger(Int16(0))
        let count = values.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count * 4) { raw in
            values.withUnsafeBufferPointer { source in
                for i in 0..<count {
                    raw.storeBytes(of: source[i].bitPattern.bigEndian, toByteOffset: i * 4, as: UInt32.self)
                }
            }
            return count * 4
        }
    }
}

extension PostgresStore {
    /// Bytes on disk of the items table (with its TOAST data) and of its vector index (0 when there is none) —
    /// of a sharded store, summed over the workers.
    public func sizes() async throws -> (table: Int64, vectorIndex: Int64) {
        let table = "SELECT pg_table_size('\(itemsTable)')::int8"
        let index =
            "SELECT coalesce(pg_relation_size(to_regclass('\(schema).\(vectorIndexName)')), 0)::int8"
        guard isSharded else {
            return try await transaction("measuring sizes") { conn in
                (try await self.scalar(conn, table), try await self.scalar(conn, index))
            }
        }
        let total = Totals()
        for shard in options.shards {
            try await onWorker(try PostgresLocation(url: shard)) { conn in
                for (sql, isTable) in [(table, true), (index, false)] {
                    let rows = try await conn.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                    for try await value in rows.decode(Int64.self) { total.add(value, table: isTable) }
                }
            }
        }
        return total.value
    }

    /// Deletes the store's schema with everything in it (benchmarks and tests); the store cannot be used afterwards.
    public func dropSchema() async throws {
        try await transaction("dropping the schema") { conn in
            try await self.exec(conn, "DROP SCHEMA IF EXISTS \(self.schema) CASCADE")
        }
        for shard in options.shards {
            try await onWorker(try PostgresLocation(url: shard)) { conn in
                _ = try await conn.query(
                    PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(self.schema) CASCADE"), logger: self.logger)
            }
        }
    }
}

/// Sizes summed over shards.
private final class Totals: @unchecked Sendable {
    private let lock = NSLock()
    private var sums: (table: Int64, vectorIndex: Int64) = (0, 0)
    var value: (table: Int64, vectorIndex: Int64) { lock.withLock { sums } }
    func add(_ bytes: Int64, table: Bool) {
        lock.withLock {
            if table { sums.table += bytes } else { sums.vectorIndex += bytes }
        }
    }
}
