import Foundation
import GRDB

/// A named labelled set of items: an analyst's relevance-feedback session, kept in the catalog so it can be
/// resumed, shared as a file and used for training.
public struct LabelledCollection: Sendable, Codable, Equatable {
    public let id: Int64
    public let name: String
    public let createdAt: Double
    public let positives: Int
    public let negatives: Int
}

/// One label of a collection.
public struct CollectionLabel: Sendable, Codable, Equatable {
    public let itemID: Int64
    /// +1 (relevant) or −1 (not relevant).
    public let label: Int
    public let labelledAt: Double

    public init(itemID: Int64, label: Int, labelledAt: Double) {
        self.itemID = itemID
        self.label = label
        self.labelledAt = labelledAt
    }
}

extension Catalog {
    /// Every collection with its label counts, by name.
    public func collections() throws -> [LabelledCollection] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.name, c.createdAt,
                           COALESCE(SUM(ci.label = 1), 0) AS positives, COALESCE(SUM(ci.label = -1), 0) AS negatives
                    FROM collection c LEFT JOIN collectionItem ci ON ci.collectionId = c.id
                    GROUP BY c.id ORDER BY c.name
                    """
            ).map {
                LabelledCollection(
                    id: $0["id"], name: $0["name"], createdAt: $0["createdAt"],
                    positives: $0["positives"], negatives: $0["negatives"])
            }
        }
    }

    /// Creates an empty collection. - Throws: ``CollectionError/nameTaken(path:name:)`` when the name is used.
    @discardableResult
    public func createCollection(_ name: String) throws -> LabelledCollection {
        try Self.checkCollectionName(name)
        try pool.write { db in
            if try Int64.fetchOne(db, sql: "SELECT id FROM collection WHERE name = ?", arguments: [name]) != nil {
                throw CollectionError.nameTaken(path: path, name: name)
            }
            try db.execute(
                sql: "INSERT INTO collection (name, createdAt) VALUES (?, ?)",
                arguments: [name, Date().timeIntervalSince1970])
        }
        return try collection(named: name)
    }

    /// The collection called `name`. - Throws: ``CollectionError/unknownCollection(path:name:known:)``.
    public func collection(named name: String) throws -> LabelledCollection {
        let all = try collections()
        guard let found = all.first(where: { $0.name == name }) else {
            throw CollectionError.unknownCollection(path: path, name: name, known: all.map(\.name))
        }
        return found
    }

    /// The labels of a collection, oldest first.
    public func labels(inCollection name: String) throws -> [CollectionLabel] {
        let collection = try collection(named: name)
        return try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT imageId, label, labelledAt FROM collectionItem WHERE collectionId = ? ORDER BY labelledAt, imageId
                    """, arguments: [collection.id]
            ).map {
                CollectionLabel(itemID: $0["imageId"], label: $0["label"], labelledAt: $0["labelledAt"])
            }
        }
    }

    /// Labels items in a collection (creating it when `create` is true), replacing earlier labels of the same
    /// items; all or nothing: an unknown id changes nothing.
    public func setLabels(
        _ labels: [(itemID: Int64, label: Int)], inCollection name: String, create: Bool = false
    ) throws {
        for entry in labels where entry.label != 1 && entry.label != -1 {
            throw CollectionError.invalidLabel(entry.label)
        }
        let now = Date().timeIntervalSince1970
        // One transaction: an unknown id or collection leaves the catalog as it was (no empty collection either).
        try pool.write { db in
            var collectionID = try Int64.fetchOne(
                db, sql: "SELECT id FROM collection WHERE name = ?", arguments: [name])
            if collectionID == nil {
                guard create else {
                    let known = try String.fetchAll(db, sql: "SELECT name FROM collection ORDER BY name")
                    throw CollectionError.unknownCollection(path: path, name: name, known: known)
                }
                try Self.checkCollectionName(name)
                try db.execute(sql: "INSERT INTO collection (name, createdAt) VALUES (?, ?)", arguments: [name, now])
                collectionID = db.lastInsertedRowID
            }
            let ids = labels.map(\.itemID)
            let known = Set(
                try Int64.fetchAll(
                    db, sql: "SELECT id FROM image WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(ids)))
            let missing = ids.filter { !known.contains($0) }
            guard missing.isEmpty else { throw CollectionError.unknownItems(path: path, ids: missing) }
            for entry in labels {
                try db.execute(
                    sql: """
                        INSERT INTO collectionItem (collectionId, imageId, label, labelledAt) VALUES (?, ?, ?, ?)
                        ON CONFLICT(collectionId, imageId) DO UPDATE SET label = excluded.label, labelledAt = excluded.labelledAt
                        """, arguments: [collectionID, entry.itemID, entry.label, now])
            }
        }
    }

    /// Removes items' labels from a collection; returns how many were removed.
    @discardableResult
    public func removeLabels(_ itemIDs: [Int64], fromCollection name: String) throws -> Int {
        let collection = try collection(named: name)
        return try pool.write { db in
            var removed = 0
            for id in itemIDs {
                try db.execute(
                    sql: "DELETE FROM collectionItem WHERE collectionId = ? AND imageId = ?",
                    arguments: [collection.id, id])
                removed += db.changesCount
            }
            return removed
        }
    }

    /// Deletes a collection and its labels (the items stay).
    public func deleteCollection(_ name: String) throws {
        let collection = try collection(named: name)
        try pool.write { db in try db.execute(sql: "DELETE FROM collection WHERE id = ?", arguments: [collection.id]) }
    }

    /// Refuses a collection name that is empty, only spaces, or longer than 100 characters.
    static func checkCollectionName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 100 else {
            throw CollectionError.invalidName(name)
        }
    }

    /// Up to `count` item ids in a fixed pseudo-random order of `seed` (a multiplicative hash of the id), so
    /// samples are repeatable and need no full scan into memory.
    public func sampleIDs(count: Int, seed: UInt64) throws -> [Int64] {
        guard count > 0 else { return [] }
        let salt = Int64(truncatingIfNeeded: seed % 1_000_003)
        return try pool.read { db in
            try Int64.fetchAll(
                db, sql: "SELECT id FROM image ORDER BY ((id + ?) * 2654435761) % 4294967311, id LIMIT ?",
                arguments: [salt, count])
        }
    }
}
