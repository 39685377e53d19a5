import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekSearch

/// What the web app can do with the open index (`GET /api/info`).
struct InfoResponse: Codable, Sendable {
    struct Modes: Codable, Sendable {
        let image: Bool
        let item: Bool
        let sketch: Bool
        let text: Bool
    }
    let items: Int
    let model: String
    let dimensions: Int
    let modes: Modes
    let maxUploadBytes: Int
    let scenes: [SceneInfo]
}

/// One source scene of the index, for the map basemap (`GET /api/scenes`).
struct SceneInfo: Codable, Sendable {
    let index: Int
    let name: String
    let chips: Int
    /// `[minLon, minLat, maxLon, maxLat]`, `nil` when not georeferenced.
    let bbox: [Double]?
    let image: String
}

/// An indexed item (`GET /api/items/{id}`, and each search result).
struct ItemResponse: Codable, Sendable {
    let id: Int64
    let name: String
    let className: String
    let width: Int
    let height: Int
    /// Source scene file name and pixel window for chips.
    let scene: String?
    let window: [Int]?
    /// Closed ring of `[lon, lat]` (EPSG:4326), `nil` for plain images.
    let footprint: [[Double]]?
    let bbox: [Double]?
    let image: String
    /// Centre `[lon, lat]`, nearest populated place (GeoNames) with its region, country and distance, the
    /// acquisition date (ISO 8601, UTC) and its source, the STAC item and properties — chips only.
    let centre: [Double]?
    let place: String?
    let region: String?
    let country: String?
    let placeDistanceKm: Double?
    let acquired: String?
    let acquiredSource: String?
    let stacItem: String?
    let properties: [String: String]?

    init(record: ImageRecord, chip: ChipInfo?, gazetteer: Gazetteer?) {
        let whereabouts = chip.map { Archive.whereabouts(of: $0, gazetteer: gazetteer) }
        centre = whereabouts?.centre
        place = whereabouts?.place
        region = whereabouts?.region
        country = whereabouts?.country
        placeDistanceKm = whereabouts?.placeDistanceKm
        acquired = whereabouts?.acquired
        acquiredSource = whereabouts?.acquiredSource
        stacItem = whereabouts?.stacItem
        properties = whereabouts?.properties
        let id = record.id ?? 0
        self.id = id
        name =
            chip.map { URL(fileURLWithPath: $0.scenePath).lastPathComponent + " @ \($0.x),\($0.y)" }
            ?? URL(fileURLWithPath: record.path).lastPathComponent
        className = record.className
        width = record.width
        height = record.height
        scene = chip.map { URL(fileURLWithPath: $0.scenePath).lastPathComponent }
        window = chip.map { [$0.x, $0.y, $0.width, $0.height] }
        footprint = chip?.footprint
        if let chip, let a = chip.minLon, let b = chip.minLat, let c = chip.maxLon, let d = chip.maxLat {
            bbox = [a, b, c, d]
        } else {
            bbox = nil
        }
        image = "/api/items/\(id)/image"
    }
}

/// An item with the same ground on other dates (`GET /api/items/{id}`).
struct ItemDetail: Encodable, Sendable {
    struct OtherDate: Codable, Sendable {
        let id: Int64
        let acquired: String?
        let scene: String
        let image: String
    }
    let item: ItemResponse
    let otherDates: [OtherDate]
    /// The street address from the server's `--geocoder` (Nominatim), or why there is none.
    let address: StreetAddress?
    let addressError: String?

    private enum Keys: String, CodingKey { case otherDates, address, addressError }

    func encode(to encoder: any Encoder) throws {
        try item.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(otherDates, forKey: .otherDates)
        try container.encodeIfPresent(address, forKey: .address)
        try container.encodeIfPresent(addressError, forKey: .addressError)
    }
}

/// One ranked hit.
struct ResultEntry: Codable, Sendable {
    let rank: Int
    let score: Float
    let item: ItemResponse
    /// Sketch search with window codes: the window of the tile that matched, `[x, y, width, height]` in
    /// fractions of the tile's square model frame.
    var region: [Double]? = nil
}

/// A search answer.
///
/// Written by ``jsonData(encoder:)`` rather than field by field through `JSONEncoder`: each result's item is the
/// item's JSON encoded once and kept by the ``ItemDirectory`` (encoding the footprints of 20 items per request
/// took two thirds of the server's CPU under load). The bytes are the same JSON `JSONEncoder` writes.
struct SearchResponse: Encodable, Sendable, JSONWritable {
    let mode: String
    let k: Int
    let bbox: [Double]?
    /// The query item (search by id), with its footprint for the map.
    let query: ItemResponse?
    let tookMs: Double
    let results: [ResultEntry]
    /// Feedback queries: items passing the threshold in all (find all), and the learner that scored.
    var total: Int?
    var scoring: String?
    /// Where the items' encoded JSON is kept (not part of the answer).
    let itemJSON: ItemDirectory?

    private enum CodingKeys: String, CodingKey {
        case mode, k, bbox, query, tookMs, results, total, scoring
    }

    init(
        mode: String, k: Int, bbox: [Double]?, query: ItemResponse?, tookMs: Double, results: [ResultEntry],
        itemJSON: ItemDirectory? = nil
    ) {
        self.mode = mode
        self.k = k
        self.bbox = bbox
        self.query = query
        self.tookMs = tookMs
        self.results = results
        self.itemJSON = itemJSON
    }

    /// The scalar fields, encoded by `JSONEncoder` and completed with the items' cached JSON.
    private struct Head: Encodable {
        let mode: String
        let k: Int
        let bbox: [Double]?
        let tookMs: Double
        let total: Int?
        let scoring: String?
    }

    func jsonData(encoder: JSONEncoder) throws -> Data {
        guard let itemJSON else { return try encoder.encode(self) }
        var out = try encoder.encode(Head(mode: mode, k: k, bbox: bbox, tookMs: tookMs, total: total, scoring: scoring))
        out.removeLast()  // the head's closing brace
        if let query {
            out.append(contentsOf: Array(#","query":"#.utf8))
            out.append(try itemJSON.json(of: query, encoder: encoder))
        }
        out.append(contentsOf: Array(#","results":["#.utf8))
        for (i, result) in results.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: Array(#"{"rank":\#(result.rank),"score":"#.utf8))
            out.append(try encoder.encode(result.score))
            out.append(contentsOf: Array(#","item":"#.utf8))
            out.append(try itemJSON.json(of: result.item, encoder: encoder))
            if let region = result.region {
                out.append(contentsOf: Array(#","region":"#.utf8))
                out.append(try encoder.encode(region))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: Array("]}".utf8))
        return out
    }
}

/// An answer that writes its own JSON (with the encoder's settings for what it delegates to it).
protocol JSONWritable {
    func jsonData(encoder: JSONEncoder) throws -> Data
}

/// Every error answer: `{"error": {"status": 400, "message": "…"}}`.
struct ErrorResponse: Codable, Sendable {
    struct Body: Codable, Sendable {
        let status: Int
        let message: String
    }
    let error: Body
}
