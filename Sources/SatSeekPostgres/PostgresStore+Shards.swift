import Foundation
import PostgresNIO
import SatSeekStore

/// A store sharded over several PostgreSQL servers with PostgreSQL's own machinery: on the coordinator the items
/// table is partitioned by the hash of the path (the global key, so a path always lands on the same shard and its
/// uniqueness holds there), each partition a `postgres_fdw` foreign table on one worker, where the rows live with
/// their own primary key, unique path and pgvector HNSW index. Searches send one `ORDER BY distance LIMIT k`
/// query to each shard (pgvector's operators are shipped through the server's `extensions` option) and merge the
/// `k · shards` candidates on the coordinator; writes go through the coordinator, which routes each row.
///
/// What postgres_fdw cannot do, and how this store copes: no `ON CONFLICT` through a foreign table (writes are
/// delete-then-insert in one transaction, compared first so unchanged rows are not rewritten), no unique index
/// across shards (paths are unique per shard, which is enough as the path decides the shard), and planner
/// settings do not travel (each worker's `hnsw.ef_search` is set on its database when the shard is laid out).
extension PostgresStore {
    /// `true` when the items table is partitioned over worker servers.
    public var isSharded: Bool { !options.shards.isEmpty }

    /// The foreign table of shard `index` (0-based) on the coordinator.
    func shardTable(_ index: Int) -> String { "\(schema).satseek_items_shard\(index + 1)" }

    static let shardsKey = "shards"

    /// Lays the items table out over `options.shards`: the worker tables and indexes, then the partitioned table,
    /// the foreign servers and the partitions on the coordinator. Called once, when the schema is new.
    func createShardedTable(_ conn: PostgresConnection) async throws {
        let workers = try options.shards.map { try PostgresLocation(url: $0) }
        for worker in workers {
            try await onWorker(worker) { workerConn in
                for sql in [
                    "CREATE EXTENSION IF NOT EXISTS vector",
                    "CREATE SCHEMA IF NOT EXISTS \(self.schema)",
                    "CREATE TABLE IF NOT EXISTS \(self.itemsTable) (\(self.itemColumns(keys: true)))",
                    self.boxIndexSQL,
                    "CREATE INDEX IF NOT EXISTS satseek_items_writer ON \(self.itemsTable) (writer)",
                    """
                    CREATE INDEX IF NOT EXISTS \(self.vectorIndexName) ON \(self.itemsTable)
                    USING hnsw (embedding vector_cosine_ops)
                    WITH (m = \(self.options.hnswM), ef_construction = \(self.options.hnswEfConstruction))
                    """,
                    // Planner settings do not travel through postgres_fdw: the shard's own default beam.
                    "ALTER DATABASE \(Self.quotedIdentifier(worker.database)) SET hnsw.ef_search = \(self.options.efSearch)"
                ] {
                    _ = try await workerConn.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                }
            }
        }
        try await exec(conn, "CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        try await exec(conn, "CREATE TABLE \(itemsTable) (\(itemColumns(keys: false))) PARTITION BY HASH (path)")
        for (i, worker) in workers.enumerated() {
            let server = "satseek_\(schema)_shard\(i + 1)"
            try await exec(conn, "DROP SERVER IF EXISTS \(server) CASCADE")
            let literal = Self.quotedLiteral
            try await exec(
                conn,
                """
                CREATE SERVER \(server) FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
                    host \(literal(worker.host)), port \(literal(String(worker.port))),
                    dbname \(literal(worker.database)), extensions 'vector', fetch_size '1000', batch_size '500',
                    async_capable 'true')
                """)
            var mapping = "user \(literal(worker.user))"
            if let password = worker.password { mapping += ", password \(literal(password))" }
            try await exec(conn, "CREATE USER MAPPING FOR CURRENT_USER SERVER \(server) OPTIONS (\(mapping))")
            try await exec(
                conn,
                """
                CREATE FOREIGN TABLE \(shardTable(i)) PARTITION OF \(itemsTable)
                FOR VALUES WITH (MODULUS \(workers.count), REMAINDER \(i))
                SERVER \(server) OPTIONS (schema_name \(literal(schema)), table_name 'satseek_items')
                """)
        }
        try await setMeta(conn, Self.shardsKey, workers.map(\.description).joined(separator: " "))
    }

    /// Runs `body` on one connection to a worker, in a transaction.
    func onWorker(
        _ worker: PostgresLocation, _ body: (PostgresConnection) async throws -> Void
    ) async throws {
        let conn: PostgresConnection
        do {
            conn = try await PostgresConnection.connect(
                configuration: Self.connectionConfiguration(worker), id: 1, logger: logger)
        } catch {
            throw PostgresStoreError.cannotConnect(url: worker.description, reason: PostgresStoreError.reason(error))
        }
        do {
            _ = try await conn.query("BEGIN", logger: logger)
            try await body(conn)
            _ = try await conn.query("COMMIT", logger: logger)
            try? await conn.close()
        } catch {
            try? await conn.close()
            throw PostgresStoreError.queryFailed(
                url: worker.description, table: itemsTable, action: "laying out a shard",
                reason: PostgresStoreError.reason(error))
        }
    }

    static func quotedLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
    static func quotedIdentifier(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes through the coordinator without `ON CONFLICT`: reads the rows of the chunk's paths and ids, leaves
    /// those stored as they are, deletes the others' old rows and inserts the new ones.
    func upsertChunkSharded(
        _ chunk: [StoreItem], ids: [Int64], on conn: PostgresConnection
    ) async throws -> (added: Int, changed: Int) {
        var binds = PostgresBindings()
        binds.append(chunk.map(\.path))
        binds.append(ids)
        let rows = try await conn.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, path, class, lon_min, lat_min, lon_max, lat_max, embedding::float4[], writer
                    FROM \(itemsTable) WHERE path = ANY($1::text[]) OR id = ANY($2::int8[])
                    """, binds: binds), logger: logger)
        struct Stored: Equatable {
            var id: Int64, className: String, box: [Double?], vector: [Float], writer: Int32?
        }
        var byPath: [String: Stored] = [:]
        var pathOfID: [Int64: String] = [:]
        for try await (id, path, className, a, b, c, e, vector, writer) in rows.decode(
            (Int64, String, String, Double?, Double?, Double?, Double?, [Float], Int32?).self)
        {
            byPath[path] = Stored(id: id, className: className, box: [a, b, c, e], vector: vector, writer: writer)
            pathOfID[id] = path
        }
        let writer = self.writer.map { Int32($0) }
        var counts = (added: 0, changed: 0)
        var write: [(StoreItem, Int64)] = []
        for (item, id) in zip(chunk, ids) {
            let box = item.footprint
            let wanted = Stored(
                id: id, className: item.className, box: [box?.minLon, box?.minLat, box?.maxLon, box?.maxLat],
                vector: item.vector, writer: writer)
            let stored = byPath[item.path]
            if stored == wanted, pathOfID[id] == item.path { continue }
            if stored == nil { counts.added += 1 } else { counts.changed += 1 }
            write.append((item, id))
        }
        guard !write.isEmpty else { return counts }
        var deletes = PostgresBindings()
        deletes.append(write.map(\.0.path))
        deletes.append(write.map(\.1))
        try await exec(
            conn, "DELETE FROM \(itemsTable) WHERE path = ANY($1::text[]) OR id = ANY($2::int8[])", deletes)
        let (insert, values) = valueRows(write, withCode: false)
        try await exec(
            conn,
            """
            INSERT INTO \(itemsTable) (id, path, class, lon_min, lat_min, lon_max, lat_max, embedding, writer)
            VALUES \(values.joined(separator: ", "))
            """, insert)
        return counts
    }

    /// The search of a sharded store: one `ORDER BY … LIMIT k` query per shard (pushed down whole by postgres_fdw),
    /// merged here. Exact search orders each shard by `distance + 0, id`, which no index can serve, so every
    /// shard scans all its rows.
    func shardedSearchSQL(k: Int, exact: Bool, whereClause: String) -> String {
        let distance = "embedding <=> $1::vector(\(dimensions))"
        let order = exact ? "(\(distance)) + 0, id" : distance
        let branches = options.shards.indices.map { i in
            "(SELECT id, (\(distance))::float8 AS distance FROM \(shardTable(i))\(whereClause) "
                + "ORDER BY \(order) LIMIT \(k))"
        }
        return "SELECT id, distance FROM (\(branches.joined(separator: " UNION ALL "))) AS shards "
            + "ORDER BY distance, id LIMIT \(k)"
    }
}
