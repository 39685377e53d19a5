import Foundation
import SatSeekCatalog

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

    init(record: ImageRecord, chip: ChipInfo?) {
        let id = record.id ?? 0
        self.id = id
        name = chip.map { URL(fileURLWithPath: $0.scenePath).lastPathComponent + " @ \($0.x),\($0.y)" }
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

/// One ranked hit.
struct ResultEntry: Codable, Sendable {
    let rank: Int
    let score: Float
    let item: ItemResponse
}

/// A search answer.
struct SearchResponse: Codable, Sendable {
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

    init(mode: String, k: Int, bbox: [Double]?, query: ItemResponse?, tookMs: Double, results: [ResultEntry]) {
        self.mode = mode
        self.k = k
        self.bbox = bbox
        self.query = query
        self.tookMs = tookMs
        self.results = results
    }
}

/// Every error answer: `{"error": {"status": 400, "message": "…"}}`.
struct ErrorResponse: Codable, Sendable {
    struct Body: Codable, Sendable {
        let status: Int
        let message: String
    }
    let error: Body
}
