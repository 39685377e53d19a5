import Foundation
import GRDB

/// One schema migration, as a value: an identifier (`"v1"`, `"v2"`, …) and the
/// SQL work it does. Applied once each, in order, by ``CatalogSchema/migrator``.
struct CatalogMigration: Sendable {
    /// Identifier recorded by GRDB once applied; never rename a shipped one.
    let identifier: String
    /// The schema change; runs inside the migration's transaction.
    let apply: @Sendable (Database) throws -> Void
}

/// Keys of the `meta` key/value table.
enum MetaKey {
    /// Marks the file as a SatSeek catalog; value ``CatalogSchema/formatName``.
    static let format = "format"
    /// Version of the on-disk format (``CatalogSchema/formatVersion``).
    static let formatVersion = "formatVersion"
    /// Identifier of the last applied migration (`"v1"`, …).
    static let schemaVersion = "schemaVersion"
    /// Creation time, seconds since 1970.
    static let createdAt = "createdAt"
    /// Bound model id (absent until ``Catalog/bind(_:)``).
    static let modelID = "modelID"
    /// Bound embedding length (absent until ``Catalog/bind(_:)``).
    static let dimensions = "dimensions"
    /// When the model was bound, seconds since 1970.
    static let boundAt = "boundAt"
    /// Counter bumped by triggers on every insert, update or delete in `embedding` (migration v3).
    static let embeddingRevision = "embeddingRevision"
    /// The catalog's identity, a UUID created with it (migration v5).
    static let catalogID = "catalogID"
}

/// The catalog's schema: tables, migrations and format markers.
enum CatalogSchema {
    /// Value of the `format` meta key.
    static let formatName = "satseek-catalog"
    /// Current on-disk format version; bump when older builds cannot read the file.
    static let formatVersion = 1

    /// All migrations, oldest first.
    static let migrations: [CatalogMigration] = [v1, v2, v3, v4, v5, v6]

    /// v1: `meta`, `image` (unique path) and `embedding` (image id + model id).
    static let v1 = CatalogMigration(identifier: "v1") { db in
        try db.create(table: "meta") { t in
            t.primaryKey("key", .text)
            t.column("value", .text).notNull()
        }
        try db.create(table: "image") { t in
            // AUTOINCREMENT: ids of deleted rows are never reused, so ids held by
            // an in-memory index never silently point at a different image.
            t.autoIncrementedPrimaryKey("id")
            t.column("path", .text).notNull().unique()
            t.column("className", .text).notNull().indexed()
            t.column("width", .integer).notNull()
            t.column("height", .integer).notNull()
            t.column("byteSize", .integer).notNull()
            t.column("modifiedAt", .double).notNull()
            t.column("contentHash", .text).notNull()
            t.column("modelID", .text).notNull()
            t.column("addedAt", .double).notNull()
        }
        try createEmbeddingTable(db)
        try setMeta(db, MetaKey.format, formatName)
        try setMeta(db, MetaKey.formatVersion, String(formatVersion))
        try setMeta(db, MetaKey.schemaVersion, "v1")
        try setMeta(db, MetaKey.createdAt, String(Date().timeIntervalSince1970))
    }

    /// v2: `chip` — for images cut from a scene: source scene path, pixel window, bands used and, for georeferenced
    /// scenes, the footprint polygon (GeoJSON ring of `[lon, lat]`, EPSG:4326) with its bounding box.
    /// Plain images have no row (a null footprint).
    static let v2 = CatalogMigration(identifier: "v2") { db in
        try db.create(table: "chip") { t in
            t.primaryKey("imageId", .integer)
                .references("image", column: "id", onDelete: .cascade)
            t.column("scenePath", .text).notNull().indexed()
            t.column("x", .integer).notNull()
            t.column("y", .integer).notNull()
            t.column("width", .integer).notNull()
            t.column("height", .integer).notNull()
            t.column("bands", .text)
            t.column("footprint", .text)
            t.column("minLon", .double)
            t.column("minLat", .double)
            t.column("maxLon", .double)
            t.column("maxLat", .double)
        }
        try db.create(index: "chip_bbox", on: "chip", columns: ["minLon", "maxLon", "minLat", "maxLat"])
        try setMeta(db, MetaKey.schemaVersion, "v2")
    }

    /// v3: `embeddingRevision` in `meta`, bumped by triggers whenever a primary embedding (the bound model's,
    /// not an auxiliary kind) is inserted, updated or deleted (cascades from `image` included), so an index
    /// file built from the embeddings can tell it is stale.
    static let v3 = CatalogMigration(identifier: "v3") { db in
        try setMeta(db, MetaKey.embeddingRevision, "0")
        try createRevisionTriggers(db)
        try setMeta(db, MetaKey.schemaVersion, "v3")
    }

    /// v4: named labelled sets of items — an analyst's relevance-feedback sessions (`collection`, and
    /// `collectionItem` with label +1/−1 and when it was given; rows go with their image).
    static let v4 = CatalogMigration(identifier: "v4") { db in
        try db.create(table: "collection") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull().unique()
            t.column("createdAt", .double).notNull()
        }
        try db.create(table: "collectionItem") { t in
            t.column("collectionId", .integer).notNull().references("collection", onDelete: .cascade)
            t.column("imageId", .integer).notNull().references("image", onDelete: .cascade)
            t.column("label", .integer).notNull().check { $0 == 1 || $0 == -1 }
            t.column("labelledAt", .double).notNull()
            t.primaryKey(["collectionId", "imageId"])
        }
        try db.create(index: "collectionItem_image", on: "collectionItem", columns: ["imageId"])
        try setMeta(db, MetaKey.schemaVersion, "v4")
    }

    /// v5: `catalogID` in `meta`, a random UUID given to the catalog once, so index files built from it can
    /// tell it from another catalog later created at the same path.
    static let v5 = CatalogMigration(identifier: "v5") { db in
        try setMeta(db, MetaKey.catalogID, UUID().uuidString)
        try setMeta(db, MetaKey.schemaVersion, "v5")
    }

    /// v6: when and from what each chip was acquired — `acquiredAt` (seconds since 1970, UTC) with where that date
    /// came from, and for chips of a STAC item the item id and its scalar properties (JSON object).
    static let v6 = CatalogMigration(identifier: "v6") { db in
        try db.alter(table: "chip") { t in
            t.add(column: "acquiredAt", .double)
            t.add(column: "acquiredSource", .text)
            t.add(column: "stacItem", .text)
            t.add(column: "properties", .text)
        }
        try db.create(index: "chip_acquired", on: "chip", columns: ["acquiredAt"])
        try setMeta(db, MetaKey.schemaVersion, "v6")
    }

    static func createEmbeddingTable(_ db: Database) throws {
        try db.create(table: "embedding") { t in
            t.column("imageId", .integer).notNull()
                .references("image", column: "id", onDelete: .cascade)
            t.column("modelID", .text).notNull()
            t.column("dimensions", .integer).notNull()
            t.column("vector", .blob).notNull()
            t.primaryKey(["imageId", "modelID"])
        }
    }

    static func createRevisionTriggers(_ db: Database) throws {
        for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
            try db.execute(
                sql: """
                    CREATE TRIGGER embedding_revision_\(event.lowercased()) AFTER \(event) ON embedding
                    WHEN \(row).modelID = (SELECT value FROM meta WHERE key = '\(MetaKey.modelID)') BEGIN
                        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = '\(MetaKey.embeddingRevision)';
                    END
                    """)
        }
    }

    /// Recreates the `embedding` table (with its revision triggers) when it has been dropped from a migrated
    /// catalog, so that `index` re-embeds every image instead of failing on every query. The images, chips and
    /// collections are kept; the revision is bumped so that index files built before are rebuilt. Returns the
    /// tables recreated.
    static func repair(_ db: Database) throws -> [String] {
        guard try db.tableExists("image"), try !db.tableExists("embedding") else { return [] }
        try createEmbeddingTable(db)
        try createRevisionTriggers(db)
        try db.execute(
            sql: "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?",
            arguments: [MetaKey.embeddingRevision])
        return ["embedding"]
    }

    /// A migrator registering ``migrations`` in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier, migrate: migration.apply)
        }
        return migrator
    }

    /// Inserts or replaces one meta entry.
    static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            arguments: [key, value])
    }

    /// Reads one meta entry.
    static func meta(_ db: Database, _ key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
    }

    /// Why an existing database is not (a readable) SatSeek catalog, or `nil` when it
    /// is one or is still empty. Runs before migrating so foreign files are untouched.
    static func problem(in db: Database, path: String) throws -> CatalogError? {
        let tables = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
        if tables.isEmpty { return nil }
        // Another process creating this catalog right now: the migration table is written first, the rest after.
        if tables == ["grdb_migrations"] {
            let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            if Set(applied).isSubset(of: migrations.map(\.identifier)) { return nil }
        }
        guard tables.contains("meta") else {
            let shown = tables.prefix(5).joined(separator: ", ")
            return .notACatalog(
                path: path,
                reason: "it is an SQLite database without SatSeek tables "
                    + "(found: \(shown)\(tables.count > 5 ? ", …" : ""))")
        }
        guard try meta(db, MetaKey.format) == formatName else {
            return .notACatalog(path: path, reason: "its meta table has no '\(formatName)' format marker")
        }
        let found = try meta(db, MetaKey.formatVersion) ?? "unknown"
        if Int(found).map({ $0 > formatVersion }) ?? true {
            return .unsupportedFormat(path: path, found: found, supported: "up to \(formatVersion)")
        }
        if try migrator.hasBeenSuperseded(db) {
            let applied = try migrator.appliedIdentifiers(db).sorted().joined(separator: ", ")
            return .unsupportedFormat(
                path: path, found: "schema \(applied)",
                supported: migrations.map(\.identifier).joined(separator: ", "))
        }
        return nil
    }
}
