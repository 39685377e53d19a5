import Foundation
import PostgresNIO
import SatSeekCatalog
import SatSeekStore

/// Many writers, one store: writer registration and the translation between a writer's catalog ids and the
/// store's ids (`writer · 2⁴⁰ + catalog id`).
extension PostgresStore {
    /// Bits of a store id that hold the writer's own (catalog) id; the bits above hold the writer number.
    public static let localIDBits: Int64 = 40
    /// The largest catalog id a writer can store (2⁴⁰ − 1).
    public static let maximumLocalID: Int64 = (1 << localIDBits) - 1
    /// The largest writer number (2²³ − 1, so that every store id is a positive `bigint`).
    static let maximumWriter: Int64 = (1 << (63 - localIDBits)) - 1

    var writersTable: String { "\(schema).store_writers" }

    /// The store id of `id` as the opener knows it: its own catalog ids (< 2⁴⁰) get its writer number on top;
    /// other writers' store ids (≥ 2⁴⁰) and every id of a store opened without a writer pass unchanged.
    public func storeID(_ id: Int64) -> Int64 {
        guard let writer, id >= 0, id <= Self.maximumLocalID else { return id }
        return writer << Self.localIDBits | id
    }

    /// The id the opener knows a stored row by: its catalog id for its own rows, the store id for others'.
    public func callerID(_ stored: Int64) -> Int64 {
        guard let writer, stored >> Self.localIDBits == writer else { return stored }
        return stored & Self.maximumLocalID
    }

    /// Opens the store for the model `catalog` is bound to, registered as the writer of that catalog: its items
    /// are kept apart from other writers' (see the type's documentation).
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
        let host = ProcessInfo.processInfo.hostName
        return try await open(
            url: url, modelID: binding.modelID, dimensions: binding.dimensions, options: options,
            writer: (try catalog.identity().uuidString, "\(host):\(catalog.path)"))
    }

    /// Creates `store_writers` and the `writer` column when missing (under the set-up lock). Rows written before
    /// writers existed (ids were catalog ids) are given to a writer of their own, `legacy`, so that their ids
    /// leave the catalog-id range; the catalog that wrote them takes them back by path on its next sync.
    func prepareWriters(
        _ conn: PostgresConnection, meta: [String: String], layout: (columns: Set<String>, indexes: Set<String>),
        sharded: Bool
    ) async throws {
        try await exec(
            conn,
            """
            CREATE TABLE IF NOT EXISTS \(writersTable) (
                number integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE,
                description text NOT NULL, first_seen timestamptz NOT NULL DEFAULT now(),
                last_seen timestamptz NOT NULL DEFAULT now())
            """)
        if !layout.columns.contains("writer") {
            try await exec(conn, "ALTER TABLE \(itemsTable) ADD COLUMN IF NOT EXISTS writer integer")
        }
        if !sharded, !layout.indexes.contains("satseek_items_writer") {
            try await exec(conn, "CREATE INDEX IF NOT EXISTS satseek_items_writer ON \(itemsTable) (writer)")
        }
        guard meta[Self.identityKey] == nil else { return }
        let unowned = try await scalar(conn, "SELECT count(*)::int8 FROM \(itemsTable) WHERE writer IS NULL")
        if unowned > 0 {
            let legacy = try await register(
                conn, key: "legacy", description: "rows stored under catalog ids before writers were registered")
            try await exec(
                conn,
                "UPDATE \(itemsTable) SET id = ($1::int8 << \(Self.localIDBits)) | id, writer = $1::int4 "
                    + "WHERE writer IS NULL AND id BETWEEN 0 AND \(Self.maximumLocalID)",
                {
                    var b = PostgresBindings(); b.append(legacy); return b
                }())
        }
        try await setMeta(conn, Self.identityKey, "writer<<\(Self.localIDBits)|catalog id")
    }

    static let identityKey = "item_identity"

    /// Registers (or finds) the writer `key` and returns its number.
    func register(writerKey key: String, description: String) async throws -> Int64 {
        try await transaction("registering the writer") { conn in
            try await self.register(conn, key: key, description: description)
        }
    }

    private func register(_ conn: PostgresConnection, key: String, description: String) async throws -> Int64 {
        let number = try await scalar(
            conn,
            """
            INSERT INTO \(writersTable) (key, description) VALUES ($1, $2)
            ON CONFLICT (key) DO UPDATE SET description = EXCLUDED.description, last_seen = now()
            RETURNING number::int8
            """, Self.bindings(key, description))
        guard (1...Self.maximumWriter).contains(number) else {
            throw PostgresStoreError.invalidInput(
                table: writersTable, reason: "writer number \(number) is outside 1…\(Self.maximumWriter)")
        }
        return number
    }

    /// Path, class and footprint of the stored items `ids` (as the opener knows them; unknown ids are absent) —
    /// what a search result needs for items other writers stored.
    public func records(ids: [Int64]) async throws -> [Int64: StoreRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await transaction("reading items") { conn in
            var binds = PostgresBindings()
            binds.append(ids.map(self.storeID))
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT id, path, class, lon_min, lat_min, lon_max, lat_max FROM \(self.itemsTable)
                        WHERE id = ANY($1::int8[])
                        """, binds: binds), logger: self.logger)
            var result: [Int64: StoreRecord] = [:]
            for try await (id, path, className, minLon, minLat, maxLon, maxLat) in rows.decode(
                (Int64, String, String, Double?, Double?, Double?, Double?).self)
            {
                var box: GeoBox?
                if let minLon, let minLat, let maxLon, let maxLat {
                    box = GeoBox(minLon: minLon, minLat: minLat, maxLon: maxLon, maxLat: maxLat)
                }
                result[self.callerID(id)] = StoreRecord(path: path, className: className, footprint: box)
            }
            return result
        }
    }

    /// The registered writers: number, key (a catalog UUID), description (`host:catalog path`) and rows stored.
    public func writers() async throws -> [(number: Int64, key: String, description: String, items: Int64)] {
        try await transaction("listing writers") { conn in
            let rows = try await conn.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT w.number::int8, w.key, w.description,
                            (SELECT count(*) FROM \(self.itemsTable) i WHERE i.writer = w.number)::int8
                        FROM \(self.writersTable) w ORDER BY w.number
                        """), logger: self.logger)
            var result: [(Int64, String, String, Int64)] = []
            for try await row in rows.decode((Int64, String, String, Int64).self) { result.append(row) }
            return result
        }
    }
}
