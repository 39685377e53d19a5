import Foundation
import GRDB

/// Where a catalogued chip comes from (table `chip`, migration v2): its source scene, pixel window and,
/// for georeferenced scenes, its footprint in EPSG:4326.
public struct ChipInfo: Sendable, Codable, Equatable {
    /// Absolute path of the source scene.
    public var scenePath: String
    /// Window origin (column, row) and size in scene pixels.
    public var x: Int, y: Int, width: Int, height: Int
    /// 1-based bands chosen explicitly when tiling (`nil`: the default band rule).
    public var bands: [Int]?
    /// Closed ring of `[lon, lat]` points, `nil` when the scene has no georeferencing.
    public var footprint: [[Double]]?
    /// Bounding box of ``footprint`` (all `nil` with it).
    public var minLon: Double?, minLat: Double?, maxLon: Double?, maxLat: Double?
    /// When the scene was acquired (UTC), if known, and where that was read (`option`, `stac`, `metadata`,
    /// `file-name`).
    public var acquiredAt: Date?
    public var acquiredSource: String?
    /// The STAC item the scene is an asset of, and the item's scalar properties (cloud cover, platform, …).
    public var stacItem: String?
    public var properties: [String: String]?

    /// Whether `ring` can be stored as a footprint: at least four `[lon, lat]` points, every coordinate finite,
    /// longitudes within ±180 and latitudes within ±90 (EPSG:4326 degrees).
    public static func isValidFootprint(_ ring: [[Double]]) -> Bool {
        ring.count >= 4
            && ring.allSatisfy { point in
                point.count == 2 && point.allSatisfy(\.isFinite) && abs(point[0]) <= 180 && abs(point[1]) <= 90
            }
    }

    /// Creates a chip description; the bounding box is computed from `footprint`.
    public init(
        scenePath: String, x: Int, y: Int, width: Int, height: Int, bands: [Int]? = nil,
        footprint: [[Double]]?, acquiredAt: Date? = nil, acquiredSource: String? = nil, stacItem: String? = nil,
        properties: [String: String]? = nil
    ) {
        self.acquiredAt = acquiredAt
        self.acquiredSource = acquiredSource
        self.stacItem = stacItem
        self.properties = properties
        self.scenePath = scenePath
        self.bands = bands
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.footprint = footprint
        let points = (footprint ?? []).filter { $0.count >= 2 }
        if !points.isEmpty {
            minLon = points.map { $0[0] }.min()
            maxLon = points.map { $0[0] }.max()
            minLat = points.map { $0[1] }.min()
            maxLat = points.map { $0[1] }.max()
        }
    }
}

extension Catalog {
    /// Stores (or replaces) the chip rows of already upserted images, in one transaction.
    /// - Throws: ``CatalogError/invalidFootprint(imagePath:reason:)`` for a footprint outside EPSG:4326
    ///   (nothing is written then).
    public func setChips(_ chips: [(id: Int64, chip: ChipInfo)]) throws {
        guard !chips.isEmpty else { return }
        try pool.write { db in
            for (id, chip) in chips { try Self.writeChip(db, id: id, chip: chip) }
        }
    }

    /// Writes one chip row inside the caller's transaction.
    static func writeChip(_ db: Database, id: Int64, chip: ChipInfo) throws {
        if let ring = chip.footprint, !ChipInfo.isValidFootprint(ring) {
            throw CatalogError.invalidFootprint(
                imagePath: chip.scenePath + "#chip=\(chip.x),\(chip.y),\(chip.width),\(chip.height)",
                reason: "the ring \(ring.prefix(5)) is not finite [lon, lat] "
                    + "degrees within ±180/±90")
        }
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO chip (imageId, scenePath, x, y, width, height, bands, footprint,
                                             minLon, minLat, maxLon, maxLat, acquiredAt, acquiredSource, stacItem,
                                             properties)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let ring = try chip.footprint.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let properties = try chip.properties.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try statement.execute(arguments: [
            id, canonicalPath(chip.scenePath), chip.x, chip.y, chip.width, chip.height,
            chip.bands.map { $0.map(String.init).joined(separator: ",") }, ring,
            chip.minLon, chip.minLat, chip.maxLon, chip.maxLat, chip.acquiredAt?.timeIntervalSince1970,
            chip.acquiredSource, chip.stacItem, properties
        ])
    }

    /// Whether image `id` has a chip row.
    public func hasChip(id: Int64) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM chip WHERE imageId = ?)", arguments: [id]) ?? false
        }
    }

    /// Chip rows of `ids`, keyed by id; plain images (no chip row) are absent.
    public func chips(ids: [Int64]) throws -> [Int64: ChipInfo] {
        let unique = Array(Set(ids))
        return try pool.read { db in
            var result: [Int64: ChipInfo] = [:]
            var start = 0
            while start < unique.count {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT imageId, scenePath, x, y, width, height, footprint, bands, acquiredAt, acquiredSource,
                               stacItem, properties
                        FROM chip WHERE imageId IN (\(marks))
                        """, arguments: StatementArguments(chunk))
                for row in rows {
                    result[row[0]] = try Self.chip(from: row)
                }
                start += 500
            }
            return result
        }
    }

    /// Ids of the chips whose footprint bounding box intersects the box (degrees, EPSG:4326).
    public func chipIDs(
        intersectingMinLon minLon: Double, minLat: Double, maxLon: Double, maxLat: Double
    ) throws -> Set<Int64> {
        try chipIDs(
            where: "minLon <= ? AND maxLon >= ? AND minLat <= ? AND maxLat >= ?", [maxLon, minLon, maxLat, minLat])
    }

    /// Ids of the chips acquired within `from ... to` (either end open when `nil`); chips without a date never are.
    public func chipIDs(acquiredFrom from: Date?, to: Date?) throws -> Set<Int64> {
        try chipIDs(
            where: "acquiredAt IS NOT NULL AND acquiredAt >= ? AND acquiredAt <= ?",
            [
                from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude,
                to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude
            ])
    }

    private func chipIDs(where condition: String, _ arguments: StatementArguments) throws -> Set<Int64> {
        try pool.read { db in
            Set(try Int64.fetchAll(db, sql: "SELECT imageId FROM chip WHERE " + condition, arguments: arguments))
        }
    }

    /// The same ground seen on other dates: for every other dated scene whose chips cover the centre of chip `id`,
    /// the chip of that scene whose centre is nearest to it, oldest first. Empty for a chip without a footprint.
    public func otherAcquisitions(of id: Int64) throws -> [(id: Int64, acquiredAt: Date?, scenePath: String)] {
        guard let chip = try chips(ids: [id])[id], let minLon = chip.minLon, let minLat = chip.minLat,
            let maxLon = chip.maxLon, let maxLat = chip.maxLat
        else { return [] }
        let (lon, lat) = ((minLon + maxLon) / 2, (minLat + maxLat) / 2)
        let rows = try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT imageId, scenePath, acquiredAt, minLon, minLat, maxLon, maxLat FROM chip
                    WHERE scenePath != ? AND minLon <= ? AND maxLon >= ? AND minLat <= ? AND maxLat >= ?
                    """, arguments: [chip.scenePath, lon, lon, lat, lat])
        }
        var nearest: [String: (id: Int64, acquiredAt: Double?, distance: Double)] = [:]
        for row in rows {
            let scene: String = row[1]
            let (cx, cy) = (
                ((row[3] as Double) + (row[5] as Double)) / 2, ((row[4] as Double) + (row[6] as Double)) / 2
            )
            let distance = (cx - lon) * (cx - lon) + (cy - lat) * (cy - lat)
            if let best = nearest[scene], best.distance <= distance { continue }
            nearest[scene] = (row[0], row[2], distance)
        }
        return nearest.map { scene, best in
            (best.id, best.acquiredAt.map { Date(timeIntervalSince1970: $0) }, scene)
        }.sorted { ($0.acquiredAt ?? .distantPast, $0.scenePath) < ($1.acquiredAt ?? .distantPast, $1.scenePath) }
    }

    /// The distinct source scenes with the union of their chips' bounding boxes (`nil` box when not
    /// georeferenced) and chip counts, ordered by path.
    public func scenes() throws -> [(
        path: String, chips: Int, minLon: Double?, minLat: Double?, maxLon: Double?, maxLat: Double?
    )] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT scenePath, COUNT(*), MIN(minLon), MIN(minLat), MAX(maxLon), MAX(maxLat)
                    FROM chip GROUP BY scenePath ORDER BY scenePath
                    """
            ).map { ($0[0], $0[1], $0[2], $0[3], $0[4], $0[5]) }
        }
    }

    private static func chip(from row: Row) throws -> ChipInfo {
        let text: String? = row[6]
        let ring = try text.map { try JSONDecoder().decode([[Double]].self, from: Data($0.utf8)) }
        let bands = (row[7] as String?).map { $0.split(separator: ",").compactMap { Int($0) } }
        let properties = try (row[11] as String?).map {
            try JSONDecoder().decode([String: String].self, from: Data($0.utf8))
        }
        return ChipInfo(
            scenePath: row[1], x: row[2], y: row[3], width: row[4], height: row[5], bands: bands,
            footprint: ring, acquiredAt: (row[8] as Double?).map { Date(timeIntervalSince1970: $0) },
            acquiredSource: row[9], stacItem: row[10], properties: properties)
    }
}
