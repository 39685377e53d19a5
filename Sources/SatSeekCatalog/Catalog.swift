import Foundation
import GRDB

/// SQLite catalog of indexed images and their embeddings, stored in one file
/// (e.g. `sample.satseek`) through a GRDB `DatabasePool` in WAL mode.
///
/// Every write is one transaction, so a killed process never leaves half a batch,
/// and rows are keyed by their unique path, so re-indexing never duplicates.
/// Safe to share between threads; several processes may open the same file.
public final class Catalog: Sendable {
    /// The catalog file path, as given to ``init(path:create:)``.
    public let path: String
    let pool: DatabasePool
    /// Tables found missing on opening and recreated empty (the `embedding` table of a damaged catalog:
    /// `index` then re-embeds every image).
    public let repairedTables: [String]

    /// SQLite files start with these 16 bytes.
    static let sqliteHeader = Data("SQLite format 3\0".utf8)

    /// Opens the catalog at `path`, or creates it when `create` is `true`.
    ///
    /// - Throws: ``CatalogError/missing(path:)`` when the file does not exist and
    ///   `create` is `false`; ``CatalogError/notACatalog(path:reason:)`` for a
    ///   non-SQLite file, a directory or a foreign SQLite database (left untouched);
    ///   ``CatalogError/unsupportedFormat(path:found:supported:)`` for a catalog from
    ///   a newer SatSeek; ``CatalogError/cannotOpen(path:reason:)`` otherwise.
    public init(path: String, create: Bool) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists, isDirectory.boolValue {
            throw CatalogError.notACatalog(path: path, reason: "it is a directory")
        }
        if !exists, !create {
            throw CatalogError.missing(path: path)
        }
        if exists {
            try Self.checkExisting(path: path)
        }

        var configuration = Configuration()
        configuration.label = "SatSeekCatalog"
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL keeps transactions atomic and the file consistent.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Several processes (an `index` run, a server, a test's observer) may open one new catalog at the same
        // moment. Their set-ups then race — switching the file to WAL ("database is locked"), and running the same
        // migration, each in its own transaction, where the loser fails on what the winner just created ("table …
        // already exists", a duplicate migration id) and rolls back. Opening again finds the winner's work recorded
        // and goes on from there; an error that persists is reported.
        var attempt = 0
        let started = Date()
        while true {
            do {
                let opened = try DatabasePool(path: path, configuration: configuration)
                try CatalogSchema.migrator.migrate(opened)
                repairedTables = try opened.write { try CatalogSchema.repair($0) }
                pool = opened
                break
            } catch let error as DatabaseError {
                let racing: [ResultCode] = [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CONSTRAINT, .SQLITE_ERROR]
                // A lock held for long (each try already waited the busy timeout) is not a race: report it.
                guard racing.contains(error.resultCode), attempt < 8, Date().timeIntervalSince(started) < 15 else {
                    throw Self.translate(error, path: path)
                }
                attempt += 1
                Thread.sleep(forTimeInterval: 0.02 * Double(attempt))
            }
        }
    }

    /// Vets an existing file before it is opened for writing, so that foreign files
    /// are never modified: a non-empty file must start with the SQLite header, and
    /// a database read through a read-only connection must be a SatSeek catalog.
    private static func checkExisting(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CatalogError.cannotOpen(path: path, reason: "the file is not readable")
        }
        let head = (try? handle.read(upToCount: sqliteHeader.count)) ?? Data()
        try? handle.close()
        if head.isEmpty { return }  // empty file: becomes a new catalog
        guard head == sqliteHeader else {
            throw CatalogError.notACatalog(
                path: path,
                reason: "it is not an SQLite database "
                    + "(the file does not start with the SQLite header)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let problem = try queue.read { try CatalogSchema.problem(in: $0, path: path) }
            try queue.close()
            if let problem { throw problem }
        } catch let error as DatabaseError {
            throw translate(error, path: path)
        }
    }

    /// Maps SQLite open failures to ``CatalogError``.
    static func translate(_ error: DatabaseError, path: String) -> CatalogError {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .notACatalog(path: path, reason: "SQLite cannot read it (\(error.message ?? "\(error)"))")
        default:
            return .cannotOpen(path: path, reason: error.message ?? "\(error)")
        }
    }

    // MARK: - Model binding

    /// Records which model builds this catalog the first time it is called;
    /// afterwards it is a no-op for the same binding and throws
    /// ``CatalogError/modelMismatch(path:indexModel:requested:)`` for another model id
    /// (or ``CatalogError/dimensionMismatch(path:modelID:indexDimensions:requested:)``
    /// for the same id with another length).
    public func bind(_ binding: ModelBinding) throws {
        guard binding.dimensions > 0 else {
            throw CatalogError.invalidEmbedding(
                imagePath: path,
                reason: "model '\(binding.modelID)' "
                    + "declares \(binding.dimensions) dimensions")
        }
        try pool.write { db in
            if let existing = try Self.binding(db) {
                try self.check(binding, against: existing)
                return
            }
            try CatalogSchema.setMeta(db, MetaKey.modelID, binding.modelID)
            try CatalogSchema.setMeta(db, MetaKey.dimensions, String(binding.dimensions))
            try CatalogSchema.setMeta(db, MetaKey.boundAt, String(Date().timeIntervalSince1970))
        }
    }

    /// The model this catalog is bound to, or `nil` before the first ``bind(_:)``.
    public func binding() throws -> ModelBinding? {
        try pool.read { try Self.binding($0) }
    }

    static func binding(_ db: Database) throws -> ModelBinding? {
        guard let modelID = try CatalogSchema.meta(db, MetaKey.modelID),
            let dims = try CatalogSchema.meta(db, MetaKey.dimensions).flatMap({ Int($0) })
        else { return nil }
        return ModelBinding(modelID: modelID, dimensions: dims)
    }

    func check(_ requested: ModelBinding, against existing: ModelBinding) throws {
        guard existing.modelID == requested.modelID else {
            throw CatalogError.modelMismatch(
                path: path, indexModel: existing.modelID,
                requested: requested.modelID)
        }
        guard existing.dimensions == requested.dimensions else {
            throw CatalogError.dimensionMismatch(
                path: path, modelID: existing.modelID,
                indexDimensions: existing.dimensions,
                requested: requested.dimensions)
        }
    }

    /// All entries of the `meta` table (format, schema version, model, created-at, …).
    public func metadata() throws -> [String: String] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM meta")
            return Dictionary(rows.map { ($0[0] as String, $0[1] as String) }, uniquingKeysWith: { $1 })
        }
    }

    /// A note kept with the catalog (meta key `note.<key>`), e.g. the class names of an alignment whose vectors it
    /// stores; nil when there is none.
    public func note(_ key: String) throws -> String? {
        try pool.read { db in try CatalogSchema.meta(db, "note." + key) }
    }

    /// Stores (replaces) a note kept with the catalog; see ``note(_:)``.
    public func setNote(_ key: String, _ value: String) throws {
        try pool.write { db in try CatalogSchema.setMeta(db, "note." + key, value) }
    }

    // MARK: - Records

    /// The standardised absolute form of `path` under which records are stored:
    /// relative paths are resolved against the current directory and `.`/`..`
    /// removed (symbolic links are kept as is).
    public static func canonicalPath(_ path: String) -> String {
        // GDAL's virtual file systems (`/vsicurl/https://…`) name URLs, which standardising would mangle.
        if path.hasPrefix("/vsi") { return path }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The record stored for `path` (canonicalised with ``canonicalPath(_:)``), if any.
    /// Callers skip files whose size and mtime match, and otherwise compare `contentHash`.
    public func record(path: String) throws -> ImageRecord? {
        let key = Self.canonicalPath(path)
        return try pool.read { db in
            try ImageRecord.filter(Column("path") == key).fetchOne(db)
        }
    }

    /// The record with row id `id`, if any.
    public func record(id: Int64) throws -> ImageRecord? {
        try pool.read { try ImageRecord.fetchOne($0, key: id) }
    }

    /// Records for `ids`, keyed by id; unknown ids are absent from the result.
    public func records(ids: [Int64]) throws -> [Int64: ImageRecord] {
        let unique = Array(Set(ids))
        return try pool.read { db in
            var result: [Int64: ImageRecord] = [:]
            result.reserveCapacity(unique.count)
            var start = 0
            while start < unique.count {  // bounded IN (…) lists
                let chunk = unique[start..<min(start + 500, unique.count)]
                for record in try ImageRecord.fetchAll(db, keys: Array(chunk)) {
                    if let id = record.id { result[id] = record }
                }
                start += 500
            }
            return result
        }
    }

    /// Every record, ordered by id.
    public func allRecords() throws -> [ImageRecord] {
        try pool.read { try ImageRecord.order(Column("id")).fetchAll($0) }
    }

    /// Number of images in the catalog.
    /// Images in the catalog at `path`, read without opening it for writing: no migration, no repair, and no
    /// waiting — nil when the file is not (yet) a readable catalog or another connection holds it locked. For
    /// watching a catalog another process is writing.
    public static func peekCount(path: String) -> Int? {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .immediateError
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return nil }
        defer { try? queue.close() }
        return try? queue.read { db in
            try db.tableExists("image") ? Int.fetchOne(db, sql: "SELECT count(*) FROM image") : nil
        }
    }

    public func count() throws -> Int {
        try pool.read { try ImageRecord.fetchCount($0) }
    }

    /// Image count per class name.
    public func classNames() throws -> [String: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT className, COUNT(*) FROM image GROUP BY className")
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, $0[1] as Int) })
        }
    }
}
