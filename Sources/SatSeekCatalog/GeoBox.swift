import Foundation

/// An axis-aligned box in WGS84 degrees (EPSG:4326, longitude/latitude order).
public struct GeoBox: Sendable, Codable, Hashable, CustomStringConvertible {
    /// West edge (degrees longitude).
    public var minLon: Double
    /// South edge (degrees latitude).
    public var minLat: Double
    /// East edge (degrees longitude).
    public var maxLon: Double
    /// North edge (degrees latitude).
    public var maxLat: Double

    /// Creates a box; no validation (see ``parse(_:)``).
    public init(minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) {
        self.minLon = minLon
        self.minLat = minLat
        self.maxLon = maxLon
        self.maxLat = maxLat
    }

    /// The smallest box holding all `points` (`[lon, lat]` pairs), or `nil` when there are none.
    public init?(points: [[Double]]) {
        guard let first = points.first, first.count >= 2 else { return nil }
        var box = GeoBox(minLon: first[0], minLat: first[1], maxLon: first[0], maxLat: first[1])
        for p in points where p.count >= 2 {
            box.minLon = min(box.minLon, p[0]); box.maxLon = max(box.maxLon, p[0])
            box.minLat = min(box.minLat, p[1]); box.maxLat = max(box.maxLat, p[1])
        }
        self = box
    }

    /// Parses `minLon,minLat,maxLon,maxLat` (the order Leaflet's `toBBoxString()` writes).
    ///
    /// - Throws: ``GeoBoxError`` when there are not four finite numbers, a coordinate is out of
    ///   range (|lon| ≤ 180, |lat| ≤ 90) or min > max.
    public static func parse(_ text: String) throws -> GeoBox {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts.allSatisfy({ $0?.isFinite == true }) else {
            throw GeoBoxError("'\(text.prefix(80))': expected four numbers minLon,minLat,maxLon,maxLat")
        }
        let box = GeoBox(minLon: parts[0]!, minLat: parts[1]!, maxLon: parts[2]!, maxLat: parts[3]!)
        guard abs(box.minLon) <= 180, abs(box.maxLon) <= 180, abs(box.minLat) <= 90, abs(box.maxLat) <= 90 else {
            throw GeoBoxError("'\(text.prefix(80))': longitude must be within ±180 and latitude within ±90")
        }
        guard box.minLon <= box.maxLon, box.minLat <= box.maxLat else {
            throw GeoBoxError("'\(text.prefix(80))': min must not exceed max")
        }
        return box
    }

    /// Whether the two boxes share at least one point (touching edges count).
    public func intersects(_ other: GeoBox) -> Bool {
        minLon <= other.maxLon && other.minLon <= maxLon && minLat <= other.maxLat && other.minLat <= maxLat
    }

    /// Whether `other` lies entirely inside this box, with `tolerance` degrees of slack.
    public func contains(_ other: GeoBox, tolerance: Double = 0) -> Bool {
        other.minLon >= minLon - tolerance && other.maxLon <= maxLon + tolerance
            && other.minLat >= minLat - tolerance && other.maxLat <= maxLat + tolerance
    }

    /// The part both boxes share, `nil` when they do not meet.
    public func intersection(_ other: GeoBox) -> GeoBox? {
        guard intersects(other) else { return nil }
        return GeoBox(
            minLon: max(minLon, other.minLon), minLat: max(minLat, other.minLat),
            maxLon: min(maxLon, other.maxLon), maxLat: min(maxLat, other.maxLat))
    }

    /// The smallest box holding both.
    public func union(_ other: GeoBox) -> GeoBox {
        GeoBox(
            minLon: min(minLon, other.minLon), minLat: min(minLat, other.minLat),
            maxLon: max(maxLon, other.maxLon), maxLat: max(maxLat, other.maxLat))
    }

    /// `minLon,minLat,maxLon,maxLat`.
    public var description: String { "\(minLon),\(minLat),\(maxLon),\(maxLat)" }
}

/// A span of acquisition times, either end open (`nil`); both ends inclusive.
public struct DateRange: Sendable, Codable, Hashable {
    public var from: Date?
    public var to: Date?

    public init(from: Date?, to: Date?) {
        self.from = from
        self.to = to
    }

    /// Whether `date` lies inside.
    public func contains(_ date: Date) -> Bool {
        (from.map { date >= $0 } ?? true) && (to.map { date <= $0 } ?? true)
    }
}
