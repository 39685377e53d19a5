import Foundation
import SatSeekCatalog

/// Results, finds and collections written for GIS tools: GeoJSON (a FeatureCollection of chip footprint
/// polygons in EPSG:4326 — QGIS, GDAL/OGR and Leaflet read it as is) or CSV.
public enum ArchiveExport {
    public enum Format: String, Sendable, CaseIterable, Codable {
        case geojson, csv
    }

    /// One exported item: a result (rank and score) or a collection label, or both.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var rank: Int?
        public var score: Float?
        public var label: Int?

        public init(id: Int64, rank: Int? = nil, score: Float? = nil, label: Int? = nil) {
            self.id = id
            self.rank = rank
            self.score = score
            self.label = label
        }
    }

    /// Entries for ranked results, with labels from `labels` where the item has one.
    public static func entries(_ results: [SearchResult], labels: [Int64: Int] = [:]) -> [Entry] {
        results.map { Entry(id: $0.id, rank: $0.rank, score: $0.score, label: labels[$0.id]) }
    }

    /// The file contents for `entries` (items the catalog no longer holds are left out).
    public static func render(_ entries: [Entry], catalog: Catalog, format: Format) throws -> Data {
        let ids = entries.map(\.id)
        let records = try catalog.records(ids: ids)
        let chips = try catalog.chips(ids: ids)
        let rows = entries.compactMap { entry in records[entry.id].map { (entry, $0, chips[entry.id]) } }
        switch format {
        case .geojson: return try geoJSON(rows)
        case .csv: return Data(csv(rows).utf8)
        }
    }

    /// Writes the export atomically (temporary file, then rename): a failed write leaves nothing half-written.
    /// - Throws: ``SearchError/invalidInput(_:)`` naming the path when it cannot be written.
    public static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SearchError.invalidInput("cannot write \(path): \((error as NSError).localizedDescription)")
        }
    }

    private typealias Row = (entry: Entry, record: ImageRecord, chip: ChipInfo?)

    private static func geoJSON(_ rows: [Row]) throws -> Data {
        var features: [[String: Any]] = []
        for (entry, record, chip) in rows {
            var properties: [String: Any] = ["id": entry.id, "path": record.path, "class": record.className]
            properties["scene"] = chip?.scenePath ?? NSNull()
            properties["rank"] = entry.rank ?? NSNull()
            properties["score"] = entry.score.map { Double($0) } ?? NSNull()
            properties["label"] = entry.label ?? NSNull()
            var geometry: Any = NSNull()
            if let ring = chip?.footprint, ring.count >= 4 {
                geometry = ["type": "Polygon", "coordinates": [ring]]
            }
            features.append(["type": "Feature", "id": entry.id, "geometry": geometry, "properties": properties])
        }
        let collection: [String: Any] = ["type": "FeatureCollection", "features": features]
        return try JSONSerialization.data(withJSONObject: collection, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private static func csv(_ rows: [Row]) -> String {
        var lines = ["id,rank,score,label,class,path,scene,min_lon,min_lat,max_lon,max_lat"]
        for (entry, record, chip) in rows {
            let fields: [String] = [
                String(entry.id), entry.rank.map(String.init) ?? "", entry.score.map { String(format: "%.6f", $0) } ?? "",
                entry.label.map(String.init) ?? "", quoted(record.className), quoted(record.path),
                quoted(chip?.scenePath ?? ""), chip?.minLon.map { "\($0)" } ?? "", chip?.minLat.map { "\($0)" } ?? "",
                chip?.maxLon.map { "\($0)" } ?? "", chip?.maxLat.map { "\($0)" } ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting when the field needs it.
    private static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
