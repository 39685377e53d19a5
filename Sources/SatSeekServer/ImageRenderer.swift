import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekImaging
import Synchronization

/// Renders item and scene images for the web app from the files the index knows — never from a path a
/// client sends — and keeps the encoded bytes in a bounded in-memory cache.
final class ImageRenderer: Sendable {
    let catalog: Catalog
    private let cache = Mutex<(entries: [String: Data], order: [String], bytes: Int)>(([:], [], 0))
    /// Upper bound on cached bytes (oldest entries are evicted first).
    let maxCacheBytes: Int

    init(catalog: Catalog, maxCacheBytes: Int = 128 << 20) {
        self.catalog = catalog
        self.maxCacheBytes = maxCacheBytes
    }

    /// The item's image (chip window of its scene, or the plain image) as JPEG, longer side ≤ `size`.
    /// - Throws: `RenderError.notFound` for an unknown id.
    /// `storedPath`: where a shared store says another writer's item is (used when the catalog has no such id).
    func itemImage(id: Int64, size: Int, storedPath: String? = nil) throws -> Data {
        try cached("item:\(id):\(size)") {
            guard let record = try catalog.record(id: id) else {
                guard let storedPath else { throw RenderError.notFound("no item with id \(id)") }
                let image = try ImageDecoder.decode(URL(fileURLWithPath: storedPath), maxSide: size)
                return try ImageEncoder.encode(image, as: .jpeg)
            }
            if let chip = try catalog.chips(ids: [id])[id] {
                let tiler = try SceneTiler(
                    path: chip.scenePath, options: SceneTilingOptions(tile: 8, bands: chip.bands))
                let window = PixelWindow(x: chip.x, y: chip.y, width: chip.width, height: chip.height)
                return try ImageEncoder.encode(tiler.render(window, maxSide: size).image, as: .jpeg)
            }
            let image = try ImageDecoder.decode(URL(fileURLWithPath: record.path), maxSide: size)
            return try ImageEncoder.encode(image, as: .jpeg)
        }
    }

    /// A scene of the index (a path taken from ``Catalog/scenes()``, never from a request) as an RGBA PNG
    /// (nodata transparent), longer side ≤ `size`, for use as a map overlay.
    func sceneImage(path: String, size: Int) throws -> Data {
        try cached("scene:\(path):\(size)") {
            let tiler = try SceneTiler(path: path, options: SceneTilingOptions(tile: 8))
            let window = PixelWindow(x: 0, y: 0, width: tiler.width, height: tiler.height)
            let rendered = try tiler.render(window, maxSide: size)
            return try ImageEncoder.encode(rendered.image, as: .png, alpha: tiler.lastValidMask)
        }
    }

    /// Each scene's tile source (its warped VRT), made on first use.
    private let tileSources = Mutex<[String: SceneTileSource]>([:])
    /// Where the warped VRTs of this process go.
    private let tileCache = FileManager.default.temporaryDirectory
        .appendingPathComponent("satseek-tiles-\(ProcessInfo.processInfo.processIdentifier)")

    /// Web Mercator tile `z/x/y` of the scenes (paths from ``Catalog/scenes()``, with their EPSG:4326 boxes) that
    /// touch it, later scenes drawn over earlier ones, as an RGBA PNG (transparent where no scene is).
    func mapTile(z: Int, x: Int, y: Int, scenes: [(path: String, box: GeoBox?)]) throws -> Data {
        try cached("tile:\(z)/\(x)/\(y)") {
            let bounds = WebMercator.lonLatBounds(z: z, x: x, y: y)
            var tile = MapTile()
            for scene in scenes {
                guard let box = scene.box, box.intersects(bounds) else { continue }
                try tileSource(scene.path).draw(z: z, x: x, y: y, into: &tile)
            }
            return try ImageEncoder.encode(tile.image, as: .png, alpha: tile.covered)
        }
    }

    private func tileSource(_ path: String) throws -> SceneTileSource {
        if let found = tileSources.withLock({ $0[path] }) { return found }
        let made = try SceneTileSource(scenePath: path, bands: nil, cacheDirectory: tileCache)
        return tileSources.withLock { sources in
            if let raced = sources[path] { return raced }
            sources[path] = made
            return made
        }
    }

    deinit { try? FileManager.default.removeItem(at: tileCache) }

    private func cached(_ key: String, _ make: () throws -> Data) throws -> Data {
        if let hit = cache.withLock({ $0.entries[key] }) { return hit }
        let data = try make()
        cache.withLock { state in
            guard state.entries[key] == nil, data.count <= maxCacheBytes else { return }
            state.entries[key] = data
            state.order.append(key)
            state.bytes += data.count
            while state.bytes > maxCacheBytes, !state.order.isEmpty {
                let old = state.order.removeFirst()
                state.bytes -= state.entries.removeValue(forKey: old)?.count ?? 0
            }
        }
        return data
    }
}

/// A rendering request for something the index does not hold.
enum RenderError: Error, CustomStringConvertible {
    case notFound(String)
    var description: String {
        switch self {
        case .notFound(let text): return text
        }
    }
}
