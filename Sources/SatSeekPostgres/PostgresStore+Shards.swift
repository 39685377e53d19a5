import Foundation
import PostgresNIO
import SatSeekStore

/// A store sharded over several PostgreSQL servers with PostgreSQL's own machinery: on the coordinator the items
/// table is partitioned by the hash of the path (the global key, so a path always lands on the same shard and its
/// uniqueness holds there), each partition a `postgres_fdw` foreign table on one worker, where the rows live with
/// their own primary key, unique path and pgvector HNSW index — any of the three kinds (full, half, binary), built
/// on all shards at once after a load. Searches send one `ORDER BY distance LIMIT k` query to each shard
/// (pgvector's operators are shipped through the server's `extensions` option) and merge the candidates on the
/// coordinator by the exact distance; writes go through the coordinator, which routes each row.
///
/// What postgres_fdw cannot do, and how this store copes: no `ON CONFLICT` through a foreign table (writes are
/// delete-then-insert in one transaction, compared first so unchanged rows are not rewritten; two writers racing
/// on one new path meet the shard's unique index, and the loser's chunk is written again), no unique index
/// across shards (paths are unique per shard, which is enough as the path decides the shard), planner settings do
/// not travel (each worker's `hnsw.ef_search` and iterative scan are set on its database when the shard is laid
/// out), and expressions in the select list are computed on the coordinator (each shard sends its candidates'
/// embeddings, `rerankDepth` of them in all for the binary index).
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
        // The coordinator re-sorts every shard's candidates by the exact distance, so the binary index may hand
        // them over in relaxed order.
        let iterative = indexKind == .binary ? "relaxed_order" : "strict_order"
        for worker in workers {
            let database = Self.quotedIdentifier(worker.database)
            try await onWorker(worker) { workerConn in
                for sql in [
                    "CREATE EXTENSION IF NOT EXISTS vector",
                    "CREATE SCHEMA IF NOT EXISTS \(self.schema)",
                    "CREATE TABLE IF NOT EXISTS \(self.itemsTable) (\(self.itemColumns(keys: true)))",
                    self.boxIndexSQL,
                    "CREATE INDEX IF NOT EXISTS satseek_items_writer ON \(self.itemsTable) (writer)",
                    // Planner settings do not travel through postgres_fdw: the shard's own default beam (deep
                    // enough for the binary index's candidates) and iterative scans for filtered searches.
                    "ALTER DATABASE \(database) SET hnsw.ef_search = \(self.shardSearchBeam)",
                    "ALTER DATABASE \(database) SET hnsw.iterative_scan = \(iterative)"
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
        _ worker: PostgresLocation, _ action: String = "laying out a shard",
        _ body: (PostgresConnection) async throws -> Void
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
                url: worker.description, table: itemsTable, action: action,
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

    /// The search of a sharded store: one `ORDER BY … LIMIT` query per shard (pushed down whole by postgres_fdw),
    /// merged here by the exact distance. Exact search orders each shard by `distance + 0, id`, which no index can
    /// serve, so every shard scans all its rows. The half-precision index is walked by `embedding::halfvec(D)`; the
    /// binary one hands over each shard's `rerankDepth` Hamming-nearest rows, re-ranked here by the exact cosine.
    func shardedSearchSQL(k: Int, exact: Bool, whereClause: String, centre: String?) -> String {
        let d = dimensions
        let distance = "embedding <=> $1::vector(\(d))"
        let branches = options.shards.indices.map { i in
            let rows = "SELECT id, (\(distance))::float8 AS distance FROM \(shardTable(i))\(whereClause)"
            if exact { return "(\(rows) ORDER BY (\(distance)) + 0, id LIMIT \(k))" }
            switch indexKind {
            case .full: return "(\(rows) ORDER BY \(distance) LIMIT \(k))"
            case .half:
                return "(\(rows) ORDER BY embedding::halfvec(\(d)) <=> $1::vector(\(d))::halfvec(\(d)) LIMIT \(k))"
            case .binary:
                let centre = centre ?? Self.vectorLiteral([Float](repeating: 0, count: d))
                let hamming =
                    binaryCode(of: "embedding", centre: centre) + " <~> "
                    + binaryCode(of: "$1::vector(\(d))", centre: centre)
                // The re-rank depth is the candidates of the whole store, as on one server: the path's hash spreads
                // the Hamming-nearest rows evenly, and every candidate's embedding travels to the coordinator.
                let depth = max(k, (options.rerankDepth + options.shards.count - 1) / options.shards.count)
                return "(SELECT id, distance FROM (\(rows) ORDER BY \(hamming) LIMIT \(depth)) "
                    + "AS candidates ORDER BY distance, id LIMIT \(k))"
            }
        }
        return "SELECT id, distance FROM (\(branches.joined(separator: " UNION ALL "))) AS shards "
            + "ORDER BY distance, id LIMIT \(k)"
    }

    /// `hnsw.ef_search` of the shards' sessions (set on their databases when laid out): the store's beam, or the
    /// binary index's re-rank depth when deeper.
    var shardSearchBeam: Int {
        min(1000, max(options.efSearch, indexKind == .binary ? options.rerankDepth : 0))
    }

    /// The HNSW index of a shard's table, as `ensureIndex` builds it on every worker.
    func shardIndexColumn(centre: String) -> String {
        switch indexKind {
        case .full: return "embedding vector_cosine_ops"
        case .half: return "(embedding::halfvec(\(dimensions))) halfvec_cosine_ops"
        case .binary: return "(\(binaryCode(of: "embedding", centre: centre))) bit_hamming_ops"
        }
    }

    /// Builds the HNSW index on every shard that lacks it, all shards at once (after a bulk load, as on one
    /// server: rows inserted into an indexed table are slower to load). The binary index's centre is the mean
    /// embedding over all shards, summed on each and recorded on the coordinator before any shard builds.
    /// `conn` holds the coordinator's index lock.
    func ensureShardIndexes(_ conn: PostgresConnection) async throws {
        let workers = try options.shards.map { try PostgresLocation(url: $0) }
        let centre: String
        if indexKind == .binary {
            let recorded = try await conn.query(
                PostgresQuery(
                    unsafeSQL: "SELECT count(*)::int8 FROM \(metaTable) WHERE key = $1",
                    binds: Self.bindings(Self.binaryCentreKey)), logger: logger)
            var isRecorded = false
            for try await n in recorded.decode(Int64.self) { isRecorded = n > 0 }
            if !isRecorded {
                let sums = ShardSums(dimensions: dimensions)
                for worker in workers {
                    try await onWorker(worker, "averaging the embeddings") { workerConn in
                        let rows = try await workerConn.query(
                            PostgresQuery(
                                unsafeSQL: "SELECT sum(embedding)::float4[], count(*)::int8 FROM \(self.itemsTable)"),
                            logger: self.logger)
                        for try await (sum, n) in rows.decode(([Float]?, Int64).self) { sums.add(sum, count: n) }
                    }
                }
                try await setMeta(conn, Self.binaryCentreKey, Self.vectorLiteral(sums.mean))
            }
            centre = try await binaryCentre(conn)
        } else {
            centre = ""
        }
        let create =
            "CREATE INDEX IF NOT EXISTS \(vectorIndexName) ON \(itemsTable) USING hnsw (\(shardIndexColumn(centre: centre))) "
            + "WITH (m = \(options.hnswM), ef_construction = \(options.hnswEfConstruction))"
        let memory = "SET LOCAL maintenance_work_mem = '\(options.indexBuildMemoryMB)MB'"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask {
                    try await self.onWorker(worker, "building the HNSW index") { workerConn in
                        // CREATE INDEX IF NOT EXISTS would wait for every open write on the shard first.
                        let exists = try await workerConn.query(
                            PostgresQuery(
                                unsafeSQL: "SELECT to_regclass('\(self.schema).\(self.vectorIndexName)') IS NOT NULL"),
                            logger: self.logger)
                        for try await found in exists.decode(Bool.self) where found { return }
                        for sql in [memory, create] {
                            _ = try await workerConn.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Drops every shard's HNSW index (``rebuildIndex()``).
    func dropShardIndexes() async throws {
        for shard in options.shards {
            try await onWorker(try PostgresLocation(url: shard), "dropping the HNSW index") { conn in
                _ = try await conn.query(
                    PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \(self.schema).\(self.vectorIndexName)"),
                    logger: self.logger)
            }
        }
    }
}

/// The binary centre's sums over shards.
private final class ShardSums: @unchecked Sendable {
    private let lock = NSLock()
    private var sum: [Double]
    private var count: Int64 = 0
    init(dimensions: Int) { sum = [Double](repeating: 0, count: dimensions) }
    func add(_ values: [Float]?, count n: Int64) {
        guard let values, values.count == sum.count else { return }
        lock.withLock {
            for i in sum.indices { sum[i] += Double(values[i]) }
            count += n
        }
    }
    var mean: [Float] { lock.withLock { sum.map { count > 0 ? Float($0 / Double(count)) : 0 } } }
}
