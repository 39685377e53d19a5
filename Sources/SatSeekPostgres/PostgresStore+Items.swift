import Foundation
import SatSeekStore
import PostgresNIO
import SatSeekIndex

extension PostgresStore {
    // MARK: - Writing

    /// Inserts or replaces `items` by id — multi-row `INSERT … ON CONFLICT (id) DO UPDATE` in batches of
    /// ``PostgresStoreOptions/batchSize``, all in one transaction — then builds the HNSW index if it is missing.
    /// A row holding an item's path under another id is replaced. Returns the ids, in order.
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
        guard !items.isEmpty else { return [] }
        try validate(items)
        // Later duplicates of an id win; one INSERT may not touch a row twice.
        var lastIndex: [Int64: Int] = [:]
        for (i, item) in items.enumerated() { lastIndex[item.id] = i }
        let unique = items.indices.filter { lastIndex[items[$0].id] == $0 }.map { items[$0] }
        let batch = options.batchSize
        try await transaction("upserting \(unique.count) items") { conn in
            var start = 0
            while start < unique.count {
                let chunk = Array(unique[start..<min(start + batch, unique.count)])
                try await self.upsertChunk(chunk, on: conn)
                start += batch
            }
        }
        if buildIndex { try await ensureIndex() }
        return items.map(\.id)
    }

    private func validate(_ items: [StoreItem]) throws {
        let codeBytes = options.codeBits.map { ($0 + 7) / 8 }
        for item in items {
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

    private func upsertChunk(_ chunk: [StoreItem], on conn: PostgresConnection) async throws {
        // Free the paths that now belong to other ids.
        var freeBinds = PostgresBindings()
        freeBinds.append(chunk.map(\.id))
        freeBinds.append(chunk.map(\.path))
        try await exec(
            conn,
            """
            DELETE FROM \(itemsTable) AS t USING unnest($1::int8[], $2::text[]) AS b(id, path)
            WHERE t.path = b.path AND t.id <> b.id
            """, freeBinds)

        let withCode = options.codeBits != nil
        var binds = PostgresBindings(capacity: chunk.count * 9)
        var rows: [String] = []
        rows.reserveCapacity(chunk.count)
        for item in chunk {
            let n = binds.count
            binds.append(item.id)
            binds.append(item.path)
            binds.append(item.className)
            binds.append(item.footprint?.minLon)
            binds.append(item.footprint?.minLat)
            binds.append(item.footprint?.maxLon)
            binds.append(item.footprint?.maxLat)
            binds.append(PGVector(values: item.vector, oid: vectorOID))
            var row =
                "($\(n + 1)::int8, $\(n + 2)::text, $\(n + 3)::text, $\(n + 4)::float8, $\(n + 5)::float8, "
                + "$\(n + 6)::float8, $\(n + 7)::float8, $\(n + 8)::vector(\(dimensions))"
            if withCode, let bits = options.codeBits {
                binds.append(item.code.map { Self.bitString($0, bits: bits) })
                row += ", $\(n + 9)::text::bit(\(bits))"
            }
            rows.append(row + ")")
        }
        let codeColumn = withCode ? ", code" : ""
        let codeUpdate = withCode ? ", code = EXCLUDED.code" : ""
        try await exec(
            conn,
            """
            INSERT INTO \(itemsTable) (id, path, class, lon_min, lat_min, lon_max, lat_max, embedding\(codeColumn))
            VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, class = EXCLUDED.class,
                lon_min = EXCLUDED.lon_min, lat_min = EXCLUDED.lat_min, lon_max = EXCLUDED.lon_max,
                lat_max = EXCLUDED.lat_max, embedding = EXCLUDED.embedding\(codeUpdate)
            """, binds)
    }

    /// Deletes every item whose id is not in `ids`; returns how many were deleted.
    @discardableResult
    public func removeAll(except ids: [Int64]) async throws -> Int {
        try await transaction("removing stale items") { conn in
            var binds = PostgresBindings()
            binds.append(ids)
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH gone AS (DELETE FROM \(self.itemsTable) WHERE NOT (id = ANY($1::int8[])) RETURNING 1)
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
            try await self.exec(conn, "SET LOCAL maintenance_work_mem = '512MB'")
            let column: String
            switch self.indexKind {
            case .full: column = "embedding vector_cosine_ops"
            case .half: column = "embedding_half halfvec_cosine_ops"
            case .binary:
                // The centre is fixed when the index is first built; rows added later are coded against it.
                let exists = try await self.scalar(
                    conn, "SELECT count(*)::int8 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                    Self.bindings(self.schema, self.vectorIndexName))
                if exists == 0 {
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
            try await self.exec(
                conn,
                "CREATE INDEX IF NOT EXISTS \(self.vectorIndexName) ON \(self.itemsTable) USING hnsw (\(column)) \(with)"
            )
            if self.options.codeBits != nil {
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
            binds.append(ids)
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: "SELECT id, embedding::float4[] FROM \(self.itemsTable) WHERE id = ANY($1::int8[])",
                    binds: binds), logger: self.logger)
            var result: [Int64: [Float]] = [:]
            for try await (id, vector) in rows.decode((Int64, [Float]).self) { result[id] = vector }
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
    /// Bytes on disk of the items table (with its TOAST data) and of its vector index (0 when there is none).
    public func sizes() async throws -> (table: Int64, vectorIndex: Int64) {
        try await transaction("measuring sizes") { conn in
            let table = try await self.scalar(conn, "SELECT pg_table_size('\(self.itemsTable)')::int8")
            let index = try await self.scalar(
                conn,
                "SELECT coalesce(pg_relation_size(to_regclass('\(self.schema).\(self.vectorIndexName)')), 0)::int8")
            return (table, index)
        }
    }

    /// Deletes the store's schema with everything in it (benchmarks and tests); the store cannot be used afterwards.
    public func dropSchema() async throws {
        try await transaction("dropping the schema") { conn in
            try await self.exec(conn, "DROP SCHEMA IF EXISTS \(self.schema) CASCADE")
        }
    }
}
