import Foundation
import SatSeekCatalog
import SatSeekGeo

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

    /// Entries for a collection's labels (no rank or score).
    public static func entries(_ labels: [CollectionLabel]) -> [Entry] {
        labels.map { Entry(id: $0.itemID, label: $0.label) }
    }

    /// The file contents for `entries` (items the catalog no longer holds are left out); chips carry their nearest
    /// place (when `gazetteer` is given) and acquisition date.
    public static func render(
        _ entries: [Entry], catalog: Catalog, format: Format, gazetteer: Gazetteer? = nil
    ) throws -> Data {
        let ids = entries.map(\.id)
        let records = try catalog.records(ids: ids)
        let chips = try catalog.chips(ids: ids)
        let rows = entries.compactMap { entry in
            records[entry.id].map { record in
                let chip = chips[entry.id]
                return (entry, record, chip, chip.map { Archive.whereabouts(of: $0, gazetteer: gazetteer) })
            }
        }
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

    /// Labels read back from an export (GeoJSON or CSV written by ``render(_:catalog:format:)``, or any file with
    /// `path` and `label` columns/properties): items are matched by path in `catalog`, so a collection can move
    /// between catalogs of the same files. Rows without a ±1 label are skipped; paths the catalog does not hold
    /// are returned as `unknown`.
    public static func labels(
        in data: Data, name: String, catalog: Catalog
    ) throws
        -> (labels: [(itemID: Int64, label: Int)], unknown: [String])
    {
        var rows: [(path: String, label: Int)] = []
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            guard object["type"] as? String == "FeatureCollection",
                let features = object["features"] as? [[String: Any]]
            else {
                throw SearchError.invalidInput("\(name): not a GeoJSON FeatureCollection")
            }
            for feature in features {
                let properties = feature["properties"] as? [String: Any] ?? [:]
                if let path = properties["path"] as? String, let label = (properties["label"] as? NSNumber)?.intValue {
                    rows.append((path, label))
                }
            }
        } else {
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map {
                CSV.fields($0)
            }
            guard let header = lines.first, let pathColumn = header.firstIndex(of: "path"),
                let labelColumn = header.firstIndex(of: "label")
            else {
                throw SearchError.invalidInput("\(name): neither GeoJSON nor CSV with 'path' and 'label' columns")
            }
            for fields in lines.dropFirst() where fields.count > max(pathColumn, labelColumn) {
                if let label = Int(fields[labelColumn]) { rows.append((fields[pathColumn], label)) }
            }
        }
        var labels: [(itemID: Int64, label: Int)] = []
        var unknown: [String] = []
        for row in rows where row.label == 1 || row.label == -1 {
            if let id = try catalog.record(path: row.path)?.id {
                labels.append((id, row.label))
            } else {
                unknown.append(row.path)
            }
        }
        return (labels, unknown)
    }

    private typealias Row = (entry: Entry, record: ImageRecord, chip: ChipInfo?, whereabouts: ItemWhereabouts?)

    private static func geoJSON(_ rows: [Row]) throws -> Data {
        var features: [[String: Any]] = []
        for (entry, record, chip, whereabouts) in rows {
            var properties: [String: Any] = ["id": entry.id, "path": record.path, "class": record.className]
            properties["place"] = whereabouts?.place ?? NSNull()
            properties["region"] = whereabouts?.region ?? NSNull()
            properties["country"] = whereabouts?.country ?? NSNull()
            properties["place_km"] = whereabouts?.placeDistanceKm ?? NSNull()
            properties["acquired"] = whereabouts?.acquired ?? NSNull()
            properties["stac_item"] = whereabouts?.stacItem ?? NSNull()
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
        var lines = [
            "id,rank,score,label,class,path,scene,min_lon,min_lat,max_lon,max_lat,place,region,country,place_km,acquired"
        ]
        for (entry, record, chip, whereabouts) in rows {
            let fields: [String] = [
                String(entry.id), entry.rank.map(String.init) ?? "",
                entry.score.map { String(format: "%.6f", $0) } ?? "",
                entry.label.map(String.init) ?? "", CSV.quoted(record.className), CSV.quoted(record.path),
                CSV.quoted(chip?.scenePath ?? ""), chip?.minLon.map { "\($0)" } ?? "",
                chip?.minLat.map { "\($0)" } ?? "",
                chip?.maxLon.map { "\($0)" } ?? "", chip?.maxLat.map { "\($0)" } ?? "",
                CSV.quoted(whereabouts?.place ?? ""), CSV.quoted(whereabouts?.region ?? ""),
                CSV.quoted(whereabouts?.country ?? ""), whereabouts?.placeDistanceKm.map { "\($0)" } ?? "",
                whereabouts?.acquired ?? ""
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
