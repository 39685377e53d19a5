import CGDAL
import Foundation
import SatSeekCatalog
import SatSeekImaging

/// The Web Mercator (EPSG:3857) XYZ tile grid Leaflet and every web map use: 2^z × 2^z tiles of 256 px.
public enum WebMercator {
    /// Half the projected world's width, metres.
    public static let halfWorld = 20_037_508.342789244
    public static let tileSize = 256
    /// The deepest zoom served (≈ 0.3 m per pixel, finer than any scene SatSeek tiles).
    public static let maximumZoom = 22

    /// Whether `z/x/y` names a tile of the grid.
    public static func isValid(z: Int, x: Int, y: Int) -> Bool {
        guard (0...maximumZoom).contains(z) else { return false }
        let count = 1 << z
        return (0..<count).contains(x) && (0..<count).contains(y)
    }

    /// The tile's bounds in EPSG:3857 metres.
    public static func bounds(z: Int, x: Int, y: Int) -> (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        let size = 2 * halfWorld / Double(1 << z)
        let minX = -halfWorld + Double(x) * size, maxY = halfWorld - Double(y) * size
        return (minX, maxY - size, minX + size, maxY)
    }

    /// The tile's bounds in EPSG:4326 degrees.
    public static func lonLatBounds(z: Int, x: Int, y: Int) -> GeoBox {
        let b = bounds(z: z, x: x, y: y)
        func latitude(_ metresY: Double) -> Double { atan(sinh(metresY / 6_378_137)) * 180 / .pi }
        return GeoBox(
            minLon: b.minX / halfWorld * 180, minLat: latitude(b.minY), maxLon: b.maxX / halfWorld * 180,
            maxLat: latitude(b.maxY))
    }
}

/// A map tile being composed: RGB pixels and which of them hold imagery.
public struct MapTile: Sendable {
    public var image: RGBImage
    public var covered: [Bool]

    /// An empty (fully transparent) tile.
    public init() {
        let side = WebMercator.tileSize
        image = RGBImage(width: side, height: side, pixels: [UInt8](repeating: 0, count: side * side * 3))
        covered = [Bool](repeating: false, count: side * side)
    }

    /// Whether any pixel holds imagery.
    public var isEmpty: Bool { !covered.contains(true) }
}

/// One scene served as Web Mercator tiles: GDAL warps it on demand (a warped VRT, written once into a cache
/// folder), reading only the pixels a tile needs — through the scene's overviews at low zoom when it has them
/// (Cloud-Optimised GeoTIFFs do), at native resolution otherwise. Thread-safe (one reader at a time).
public final class SceneTileSource: @unchecked Sendable {
    public let scenePath: String
    private let tiler: SceneTiler
    private let geoTransform: [Double]
    private let lock = NSLock()

    /// Warps `scenePath` to EPSG:3857 as a VRT file in `cacheDirectory` (nodata 0 is transparent).
    /// - Throws: ``GeoError`` when the scene cannot be read or has no georeferencing.
    public init(scenePath: String, bands: [Int]?, cacheDirectory: URL) throws {
        GeoGDAL.ensureRegistered()
        self.scenePath = scenePath
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        let name = String(
            String(UInt64(bitPattern: Int64(scenePath.hashValue)), radix: 16) + "-"
                + URL(fileURLWithPath: scenePath).deletingPathExtension().lastPathComponent.prefix(40))
        let vrt = cacheDirectory.appendingPathComponent(name + ".vrt").path
        try Self.warp(scenePath, to: vrt)
        tiler = try SceneTiler(path: vrt, options: SceneTilingOptions(tile: 8, bands: bands))
        guard let dataset = GeoGDAL.quietly({ GDALOpen(vrt, GA_ReadOnly) }) else {
            throw GeoError.unreadable(path: scenePath, reason: GeoGDAL.lastError("the warped VRT does not open"))
        }
        defer { GDALClose(dataset) }
        var gt = [Double](repeating: 0, count: 6)
        guard GDALGetGeoTransform(dataset, &gt) == CE_None, gt[1] > 0, gt[5] < 0 else {
            throw GeoError.unreadable(path: scenePath, reason: "no north-up geotransform after warping to EPSG:3857")
        }
        geoTransform = gt
    }

    private static func warp(_ source: String, to vrt: String) throws {
        try GeoGDAL.quietly {
            guard let input = GDALOpen(source, GA_ReadOnly) else {
                throw GeoError.unreadable(path: source, reason: GeoGDAL.lastError("GDAL cannot open it"))
            }
            defer { GDALClose(input) }
            guard GDALGetSpatialRef(input) != nil else {
                throw GeoError.unreadable(path: source, reason: "no CRS: the scene cannot be placed on the map")
            }
            let arguments = ["-of", "VRT", "-t_srs", "EPSG:3857", "-r", "bilinear", "-dstnodata", "0", "-overwrite"]
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            guard let options = argv.withUnsafeMutableBufferPointer({ GDALWarpAppOptionsNew($0.baseAddress, nil) })
            else { throw GeoError.unreadable(path: source, reason: "GDAL warp options refused") }
            defer { GDALWarpAppOptionsFree(options) }
            var sources: [GDALDatasetH?] = [input]
            var usageError: Int32 = 0
            guard let output = GDALWarp(vrt, nil, 1, &sources, options, &usageError) else {
                throw GeoError.unreadable(path: source, reason: GeoGDAL.lastError("GDAL cannot warp it to EPSG:3857"))
            }
            GDALClose(output)
        }
    }

    /// Draws this scene's part of tile `z/x/y` over `tile` (its imagery replaces what is below it).
    /// Returns whether the scene touches the tile.
    @discardableResult
    public func draw(z: Int, x: Int, y: Int, into tile: inout MapTile) throws -> Bool {
        let b = WebMercator.bounds(z: z, x: x, y: y)
        let gt = geoTransform
        // The tile in the warped scene's pixel grid, then clipped to the scene.
        let (px0, px1) = ((b.minX - gt[0]) / gt[1], (b.maxX - gt[0]) / gt[1])
        let (py0, py1) = ((b.maxY - gt[3]) / gt[5], (b.minY - gt[3]) / gt[5])
        let (width, height) = (Double(tiler.width), Double(tiler.height))
        let (cx0, cy0) = (max(0, px0.rounded(.down)), max(0, py0.rounded(.down)))
        let (cx1, cy1) = (min(width, px1.rounded(.up)), min(height, py1.rounded(.up)))
        guard cx1 > cx0, cy1 > cy0 else { return false }
        let side = WebMercator.tileSize
        let scaleX = Double(side) / (px1 - px0), scaleY = Double(side) / (py1 - py0)
        // The tile pixels the clipped window covers.
        let tx0 = max(0, Int(((cx0 - px0) * scaleX).rounded(.down)))
        let ty0 = max(0, Int(((cy0 - py0) * scaleY).rounded(.down)))
        let tx1 = min(side, Int(((cx1 - px0) * scaleX).rounded(.up)))
        let ty1 = min(side, Int(((cy1 - py0) * scaleY).rounded(.up)))
        guard tx1 > tx0, ty1 > ty0 else { return false }
        let window = PixelWindow(x: Int(cx0), y: Int(cy0), width: Int(cx1 - cx0), height: Int(cy1 - cy0))
        // Zoomed out, GDAL averages the window down to the tile's pixels (from overviews where the scene has them);
        // zoomed in, the window is read as it is and each tile pixel takes the scene pixel under its centre.
        let (outWidth, outHeight) = (min(window.width, tx1 - tx0), min(window.height, ty1 - ty0))
        let (image, mask) = try lock.withLock {
            let rendered = try tiler.render(window, outWidth: outWidth, outHeight: outHeight)
            return (rendered.image, tiler.lastValidMask)
        }
        for ty in ty0..<ty1 {
            let sy = (py0 + (Double(ty) + 0.5) / scaleY - cy0) / Double(window.height)
            guard sy >= 0, sy < 1 else { continue }
            let row = min(outHeight - 1, Int(sy * Double(outHeight)))
            for tx in tx0..<tx1 {
                let sx = (px0 + (Double(tx) + 0.5) / scaleX - cx0) / Double(window.width)
                guard sx >= 0, sx < 1 else { continue }
                let source = row * outWidth + min(outWidth - 1, Int(sx * Double(outWidth)))
                guard mask[source] else { continue }
                let target = ty * side + tx
                tile.covered[target] = true
                for c in 0..<3 { tile.image.pixels[3 * target + c] = image.pixels[3 * source + c] }
            }
        }
        return true
    }
}
