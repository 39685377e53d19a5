/// PostgreSQL + pgvector store: the scale-out alternative to the embedded SQLite catalog + FlatIndex.
///
/// Schema (one PostgreSQL schema per model, `satseek` unless the URL says `?schema=NAME`):
/// `store_meta(key, value)` records the model id and dimensions (another model is refused), and
/// `satseek_items(id bigint primary key, path text unique, class text, lon_min/lat_min/lon_max/lat_max,
/// embedding vector(D), writer integer, [embedding_half halfvec(D) generated from it], [code bit(B)])` and
/// `store_writers(number, key, description, …)`.
///
/// Many writers, one store: a store opened for a catalog registers that catalog (its UUID) as a *writer* and gets
/// a number `w`; its items are stored under `w · 2⁴⁰ + catalog id`, so machines indexing different folders never
/// collide, and translated back on the way out — the opener sees its own items under its catalog's ids and other
/// writers' items under their store ids (≥ 2⁴⁰, never a catalog id). The path (absolute, so writers must see one
/// file system namespace) is the item's global key: a path written by two writers is stored once, by the last.
/// A writer's sync deletes only its own rows.
/// Search is by cosine distance (`<=>`): exact mode scans every row (index scans off, ties by id), HNSW mode
/// uses `hnsw (embedding vector_cosine_ops)` (m / ef_construction configurable, `hnsw.ef_search` per query,
/// iterative scans when filtered). Above 2,000 dimensions (pgvector's HNSW limit for `vector`) the index is
/// built on the half-precision column (up to 4,000); binary codes get `hnsw (code bit_hamming_ops)` and `<~>`.
/// Only loopback servers are accepted: rows carry file paths and embeddings unencrypted, and this
/// project's servers (scripts/postgres-cluster.sh) listen on 127.0.0.1 with trust authentication.
import Foundation
import PostgresNIO
import SatSeekIndex
import SatSeekStore

/// The HNSW index of a store.
public enum VectorIndexKind: String, Sendable, CaseIterable, Codable {
    /// `hnsw (embedding vector_cosine_ops)`: 4 bytes a dimension (up to 2 000 dimensions).
    case full
    /// `hnsw (embedding_half halfvec_cosine_ops)` on a generated `halfvec` column: 2 bytes a dimension (up to 4 000).
    case half
    /// `hnsw ((binary_quantize(embedding − centre)::bit(D)) bit_hamming_ops)`: 1 bit a dimension. The centre is the
    /// mean embedding when the index is built (kept in `store_meta`), so a bit says on which side of the archive's
    /// mean a dimension lies (measured better than the raw sign: README). Search takes the `rerankDepth`
    /// Hamming-nearest candidates and re-ranks them by the exact cosine.
    case binary
}

/// Settings of a ``PostgresStore``.
public struct PostgresStoreOptions: Sendable, Equatable {
    /// Schema holding the tables when the URL names none.
    public var schema = "satseek"
    /// HNSW graph degree (`m`, 2…100) and build beam (`ef_construction`, ≥ 2·m), used when the index is built.
    public var hnswM = 16
    public var hnswEfConstruction = 64
    /// Search beam (`hnsw.ef_search`) for approximate queries; raised to `k` when smaller (max 1000).
    public var efSearch = 100
    /// Which HNSW index approximate search walks; nil: the one the schema already records (`full` for a new one).
    public var vectorIndex: VectorIndexKind?
    /// With a `binary` index: candidates taken by Hamming distance before the exact cosine re-ranks them
    /// (raised to `k` when smaller; `hnsw.ef_search` is raised to it).
    public var rerankDepth = 200
    /// Index a generated half-precision column (`halfvec`) instead of `embedding` (half the index size).
    public var halfPrecisionIndex: Bool {
        get { vectorIndex == .half }
        set { vectorIndex = newValue ? .half : .full }
    }
    /// Length of binary codes stored in `code bit(B)`; `nil` for none.
    public var codeBits: Int?
    /// `maintenance_work_mem` of an HNSW build, in MB (64…65536): a graph larger than this is built far more
    /// slowly (pgvector's build falls back to inserting on disk pages).
    public var indexBuildMemoryMB = 512
    /// Rows per multi-row INSERT.
    public var batchSize = 500
    /// Worker servers (loopback URLs) to partition the items table over when the schema is new (see
    /// `PostgresStore+Shards.swift`); empty: one server. After opening: the workers the schema records.
    public var shards: [String] = []

    public init() {}

    /// `true` for lower-case SQL identifiers that need no quoting: `[a-z_][a-z0-9_]*`, at most 63 bytes.
    public static func isValidIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63,
            first == UInt8(ascii: "_") || (97...122).contains(first)
        else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }
    }

    func validate() throws {
        guard Self.isValidIdentifier(schema) else {
            throw PostgresStoreError.invalidOptions("schema '\(schema)' must match [a-z_][a-z0-9_]* (≤ 63 characters)")
        }
        guard (2...100).contains(hnswM) else {
            throw PostgresStoreError.invalidOptions("hnsw m must be 2…100, got \(hnswM)")
        }
        guard (2 * hnswM...1000).contains(hnswEfConstruction) else {
            throw PostgresStoreError.invalidOptions(
                "ef_construction must be \(2 * hnswM)…1000, got \(hnswEfConstruction)")
        }
        guard (1...1000).contains(efSearch) else {
            throw PostgresStoreError.invalidOptions("ef_search must be 1…1000, got \(efSearch)")
        }
        if let bits = codeBits, !(1...64_000).contains(bits) {
            throw PostgresStoreError.invalidOptions("code length must be 1…64000 bits, got \(bits)")
        }
        guard (1...1000).contains(rerankDepth) else {
            throw PostgresStoreError.invalidOptions("rerank depth must be 1…1000, got \(rerankDepth)")
        }
        guard (64...65536).contains(indexBuildMemoryMB) else {
            throw PostgresStoreError.invalidOptions("index build memory must be 64…65536 MB, got \(indexBuildMemoryMB)")
        }
        guard (1...5000).contains(batchSize) else {
            throw PostgresStoreError.invalidOptions("batch size must be 1…5000")
        }
        if !shards.isEmpty {
            guard shards.count <= 16 else {
                throw PostgresStoreError.invalidOptions("at most 16 shards, got \(shards.count)")
            }
            for shard in shards { _ = try PostgresLocation(url: shard) }
            guard codeBits == nil else {
                throw PostgresStoreError.invalidOptions("a sharded store keeps no binary codes column")
            }
        }
    }
}

/// Embeddings of one model in PostgreSQL with pgvector, searched exactly or through an HNSW index.
///
/// Open with ``open(url:modelID:dimensions:options:)`` (or ``open(url:for:options:)`` as a catalog's writer) and
/// ``close()`` when done. All methods may be called concurrently (a connection pool is used).
public final class PostgresStore: VectorStore {
    /// Where the server is (password never printed).
    public let location: PostgresLocation
    public let modelID: String
    public let dimensions: Int
    /// The options the store was opened with (``PostgresStoreOptions/codeBits`` as stored in the schema).
    public let options: PostgresStoreOptions
    /// The PostgreSQL schema holding the tables.
    public let schema: String
    /// Qualified name of the items table, e.g. `satseek.satseek_items`.
    public var itemsTable: String { "\(schema).satseek_items" }
    public var storeDescription: String { "\(location) table \(itemsTable)" }
    var metaTable: String { "\(schema).store_meta" }
    /// Name of the HNSW index on the embeddings (inside ``schema``).
    public let vectorIndexName = "satseek_items_hnsw"
    /// The HNSW index approximate search walks (as recorded in the schema); `full` above 2 000 dimensions
    /// becomes `half`, pgvector's limit for `vector`.
    public var indexKind: VectorIndexKind {
        let kind = options.vectorIndex ?? .full
        return kind == .full && dimensions > 2000 ? .half : kind
    }
    /// `true` when the HNSW index is on the half-precision column.
    public var indexesHalfPrecision: Bool { indexKind == .half }
    /// `false` where pgvector cannot index (above 4 000 dimensions for `halfvec`); every search is then exact.
    public var canIndex: Bool { indexKind == .binary || dimensions <= 4000 }

    /// The writer number of the catalog this store was opened for (nil: ids are used as given).
    public let writer: Int64?

    let client: PostgresClient
    let logger: Logger
    private let runner: Runner

    /// The client's background task, cancelled when the last store using it goes away.
    private final class Runner: Sendable {
        let task: Task<Void, Never>
        init(_ task: Task<Void, Never>) { self.task = task }
        deinit { task.cancel() }
    }

    /// Type OIDs of pgvector's `vector` and `halfvec` in this database (extension types have no fixed OID).
    let vectorOID: UInt32

    private init(
        location: PostgresLocation, modelID: String, dimensions: Int, options: PostgresStoreOptions,
        schema: String, client: PostgresClient, runner: Runner, logger: Logger, vectorOID: UInt32 = 0,
        writer: Int64? = nil
    ) {
        self.vectorOID = vectorOID
        self.writer = writer
        self.location = location
        self.modelID = modelID
        self.dimensions = dimensions
        self.options = options
        self.schema = schema
        self.client = client
        self.runner = runner
        self.logger = logger
    }

    /// Connects to the loopback server at `url`, creates the extension, schema and tables when missing,
    /// and checks that the schema holds `modelID`'s embeddings (recording it when new).
    ///
    /// - Throws: ``PostgresStoreError/notLoopback(url:host:)`` / ``PostgresStoreError/invalidURL(url:reason:)``
    ///   for the URL, ``PostgresStoreError/cannotConnect(url:reason:)``,
    ///   ``PostgresStoreError/modelMismatch(url:table:storedModel:storedDimensions:requestedModel:requestedDimensions:)``
    ///   when the schema belongs to another model.
    public static func open(
        url: String, modelID: String, dimensions: Int,
        options: PostgresStoreOptions = PostgresStoreOptions()
    ) async throws -> PostgresStore {
        try await open(url: url, modelID: modelID, dimensions: dimensions, options: options, writer: nil)
    }

    /// ``open(url:modelID:dimensions:options:)``, registering `writer` (a catalog's identity and a description
    /// of where it is) when given: ids then pass through ``storeID(_:)`` and ``callerID(_:)``.
    static func open(
        url: String, modelID: String, dimensions: Int, options: PostgresStoreOptions,
        writer: (key: String, description: String)?
    ) async throws -> PostgresStore {
        let location = try PostgresLocation(url: url)
        var options = options
        if let schema = location.schema { options.schema = schema }
        try options.validate()
        guard dimensions > 0, dimensions <= 16_000 else {
            throw PostgresStoreError.invalidOptions(
                "pgvector stores 1…16000 dimensions, model '\(modelID)' has \(dimensions)")
        }
        var logger = Logger(label: "satseek.postgres")
        logger.logLevel = .error

        // One plain connection first, so that a wrong port or database fails at once with its reason
        // (the pool would keep retrying).
        do {
            let probe = try await PostgresConnection.connect(
                configuration: connectionConfiguration(location), id: 0, logger: logger)
            try? await probe.close()
        } catch {
            var reason = PostgresStoreError.reason(error)
            if (error as? PSQLError)?.serverInfo == nil {
                reason += " (is a server running there? scripts/postgres-cluster.sh start DIR starts one)"
            }
            throw PostgresStoreError.cannotConnect(url: location.description, reason: reason)
        }

        var clientConfig = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: .disable)
        clientConfig.options.maximumConnections = 4
        let client = PostgresClient(configuration: clientConfig, backgroundLogger: logger)
        let runner = Runner(Task { await client.run() })
        let store = PostgresStore(
            location: location, modelID: modelID, dimensions: dimensions, options: options,
            schema: options.schema, client: client, runner: runner, logger: logger)
        do {
            let (storedBits, vectorOID, storedIndex, shards) = try await store.prepareSchema()
            var adjusted = options
            adjusted.codeBits = storedBits
            adjusted.vectorIndex = storedIndex
            adjusted.shards = shards
            var number: Int64?
            if let writer { number = try await store.register(writerKey: writer.key, description: writer.description) }
            return PostgresStore(
                location: location, modelID: modelID, dimensions: dimensions, options: adjusted,
                schema: options.schema, client: client, runner: runner, logger: logger,
                vectorOID: vectorOID, writer: number)
        } catch {
            await store.close()
            throw error
        }
    }

    /// Stops the connection pool; the store cannot be used afterwards.
    public func close() async {
        runner.task.cancel()
        await runner.task.value
    }

    /// Creates what is missing and checks the model; returns the code length recorded for the schema and
    /// the OID of the `vector` type.
    private func prepareSchema() async throws -> (
        codeBits: Int?, vectorOID: UInt32, vectorIndex: VectorIndexKind, shards: [String]
    ) {
        let d = dimensions
        return try await transaction("preparing") { conn in
            // Serialise concurrent set-ups of the same schema.
            _ = try await conn.query("SELECT pg_advisory_xact_lock(hashtext(\(self.schema)))", logger: self.logger)
            try await self.exec(conn, "CREATE EXTENSION IF NOT EXISTS vector")
            try await self.exec(conn, "CREATE SCHEMA IF NOT EXISTS \(self.schema)")
            try await self.exec(
                conn, "CREATE TABLE IF NOT EXISTS \(self.metaTable) (key text PRIMARY KEY, value text NOT NULL)")
            var meta: [String: String] = [:]
            let rows = try await conn.query(
                PostgresQuery(unsafeSQL: "SELECT key, value FROM \(self.metaTable)"), logger: self.logger)
            for try await (key, value) in rows.decode((String, String).self) { meta[key] = value }
            if let storedModel = meta["model_id"] {
                let storedDims = meta["dimensions"].flatMap { Int($0) } ?? 0
                guard storedModel == self.modelID, storedDims == d else {
                    throw PostgresStoreError.modelMismatch(
                        url: self.location.description, table: self.itemsTable, storedModel: storedModel,
                        storedDimensions: storedDims, requestedModel: self.modelID, requestedDimensions: d)
                }
            } else {
                try await self.setMeta(conn, "model_id", self.modelID)
                try await self.setMeta(conn, "dimensions", String(d))
                try await self.setMeta(conn, "created_at", ISO8601DateFormatter().string(from: Date()))
            }
            // DDL only for what is missing: ALTER TABLE and CREATE INDEX lock the table even when there is nothing to
            // do, and an opener stopped while holding such a lock would stall every search.
            var layout = try await self.tableLayout(conn)
            var shards = meta[Self.shardsKey].map { $0.split(separator: " ").map(String.init) } ?? []
            if !self.options.shards.isEmpty, !layout.columns.isEmpty, shards.count != self.options.shards.count {
                throw PostgresStoreError.invalidOptions(
                    "\(self.itemsTable) exists \(shards.isEmpty ? "on one server" : "over \(shards.count) shards"); "
                        + "shards are chosen when a schema is new (use another schema, ?schema=NAME)")
            }
            if layout.columns.isEmpty, !self.options.shards.isEmpty {
                guard self.indexKind == .binary || d <= 4000 else {
                    throw PostgresStoreError.invalidOptions(
                        "pgvector indexes at most 4000 dimensions as halfvec (got \(d)); use --store-index binary")
                }
                try await self.createShardedTable(conn)
                shards = try self.options.shards.map { try PostgresLocation(url: $0).description }
                layout = try await self.tableLayout(conn)
            } else if layout.columns.isEmpty {
                try await self.exec(
                    conn, "CREATE TABLE IF NOT EXISTS \(self.itemsTable) (\(self.itemColumns(keys: true)))")
                layout = try await self.tableLayout(conn)
            }
            try await self.prepareWriters(conn, meta: meta, layout: layout, sharded: !shards.isEmpty)
            if shards.isEmpty, !layout.indexes.contains("satseek_items_box") {
                try await self.exec(conn, self.boxIndexSQL)
            }
            var storedBits = meta["code_bits"].flatMap { Int($0) }
            if let bits = self.options.codeBits {
                if let storedBits, storedBits != bits {
                    throw PostgresStoreError.codeLengthMismatch(
                        url: self.location.description, table: self.itemsTable,
                        stored: storedBits, requested: bits)
                }
                if storedBits == nil {
                    let count = try await self.scalar(conn, "SELECT count(*)::int8 FROM \(self.itemsTable)")
                    if count > 0 {
                        throw PostgresStoreError.codeLengthMismatch(
                            url: self.location.description, table: self.itemsTable,
                            stored: nil, requested: bits)
                    }
                    try await self.exec(conn, "ALTER TABLE \(self.itemsTable) ADD COLUMN code bit(\(bits))")
                    try await self.setMeta(conn, "code_bits", String(bits))
                    storedBits = bits
                }
            }
            // The index kind is the schema's: recorded on first use, adopted by later opens that name none.
            let recorded = meta["vector_index"].flatMap(VectorIndexKind.init(rawValue:))
            if let recorded, let requested = self.options.vectorIndex, requested != recorded {
                throw PostgresStoreError.invalidOptions(
                    "\(self.itemsTable) is indexed as \(recorded.rawValue), not \(requested.rawValue); "
                        + "use another schema (?schema=NAME) for another index")
            }
            let kind = recorded ?? self.options.vectorIndex ?? .full
            if recorded == nil { try await self.setMeta(conn, "vector_index", kind.rawValue) }
            if shards.isEmpty, kind == .half || (kind == .full && d > 2000), d <= 4000,
                !layout.columns.contains("embedding_half")
            {
                try await self.exec(
                    conn,
                    """
                    ALTER TABLE \(self.itemsTable) ADD COLUMN IF NOT EXISTS embedding_half halfvec(\(d))
                    GENERATED ALWAYS AS (embedding::halfvec(\(d))) STORED
                    """)
            }
            let oid = try await self.scalar(conn, "SELECT 'vector'::regtype::oid::int8")
            return (storedBits, UInt32(oid), kind, shards)
        }
    }

    // MARK: - Helpers

    /// One plain connection's settings for `location` (no TLS: loopback only; 10 s to connect).
    static func connectionConfiguration(_ location: PostgresLocation) -> PostgresConnection.Configuration {
        var config = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: .disable)
        config.options.connectTimeout = .seconds(10)
        return config
    }

    /// The items table's columns; `keys`: with the primary key on id and the unique path (a plain table or a
    /// shard's), without them for the partitioned table of a sharded store, whose shards hold the keys.
    func itemColumns(keys: Bool) -> String {
        (keys ? "id bigint PRIMARY KEY, path text NOT NULL UNIQUE" : "id bigint NOT NULL, path text NOT NULL")
            + ", class text NOT NULL, lon_min double precision, lat_min double precision, "
            + "lon_max double precision, lat_max double precision, embedding vector(\(dimensions)) NOT NULL, "
            + "writer integer"
    }

    /// The index on footprint boxes (a plain table or a shard's).
    var boxIndexSQL: String {
        "CREATE INDEX IF NOT EXISTS satseek_items_box ON \(itemsTable) (lon_min, lon_max, lat_min, lat_max) "
            + "WHERE lon_min IS NOT NULL"
    }

    /// The columns and index names of the items table (both empty when it does not exist yet).
    func tableLayout(_ conn: PostgresConnection) async throws -> (columns: Set<String>, indexes: Set<String>) {
        var columns = Set<String>()
        let columnRows = try await conn.query(
            PostgresQuery(
                unsafeSQL:
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                binds: Self.bindings(schema, "satseek_items")), logger: logger)
        for try await name in columnRows.decode(String.self) { columns.insert(name) }
        var indexes = Set<String>()
        let indexRows = try await conn.query(
            PostgresQuery(
                unsafeSQL: "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = $2",
                binds: Self.bindings(schema, "satseek_items")), logger: logger)
        for try await name in indexRows.decode(String.self) { indexes.insert(name) }
        return (columns, indexes)
    }

    /// Runs `body` in one transaction, mapping failures to ``PostgresStoreError/queryFailed(url:table:action:reason:)``.
    func transaction<T: Sendable>(_ action: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { conn in try await body(conn) }
        } catch let error as PostgresStoreError {
            throw error
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError as? PostgresStoreError { throw closure }
            let underlying: any Error = error.closureError ?? error.beginError ?? error.commitError ?? error
            throw PostgresStoreError.queryFailed(
                url: location.description, table: itemsTable, action: action,
                reason: PostgresStoreError.reason(underlying))
        } catch {
            throw PostgresStoreError.queryFailed(
                url: location.description, table: itemsTable, action: action,
                reason: PostgresStoreError.reason(error))
        }
    }

    /// Runs one statement whose rows (if any) are discarded.
    func exec(_ conn: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws {
        _ = try await conn.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// The single `int8` value of a query.
    func scalar(
        _ conn: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings()
    ) async throws -> Int64 {
        let rows = try await conn.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }

    func setMeta(_ conn: PostgresConnection, _ key: String, _ value: String) async throws {
        _ = try await conn.query(
            """
            INSERT INTO \(unescaped: metaTable) (key, value) VALUES (\(key), \(value))
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }
}
