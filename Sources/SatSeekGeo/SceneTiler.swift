import CGDAL
import Foundation
import SatSeekImaging

/// How scene bands become 8-bit RGB chips.
public struct SceneTilingOptions: Sendable, Equatable {
    /// Chip side in pixels.
    public var tile: Int
    /// Step between chip origins in pixels (`== tile`: no overlap).
    public var stride: Int
    /// 1-based bands used as R, G, B (one band = grey). `nil`: the bands whose colour interpretation is
    /// red/green/blue, else 1, 2, 3 (else band 1 as grey) — the ``ImageDecoder`` rule.
    public var bands: [Int]?
    /// Lower/upper percentile of the linear stretch applied to non-Byte bands (computed once per scene from
    /// an overview read, so all chips of a scene share one scale).
    public var stretchPercentiles: (low: Double, high: Double) = (2, 98)

    /// Creates options; `stride` defaults to `tile`.
    public init(tile: Int, stride: Int? = nil, bands: [Int]? = nil) {
        self.tile = tile
        self.stride = stride ?? tile
        self.bands = bands
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.tile == b.tile && a.stride == b.stride && a.bands == b.bands
            && a.stretchPercentiles == b.stretchPercentiles
    }

    /// Parses `1,2,3` (or `4`) into band numbers.
    public static func parseBands(_ text: String) throws -> [Int] {
        let bands = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard bands.count == 1 || bands.count == 3, bands.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw GeoError.invalidOption("--bands '\(text)': give one band (grey) or three (R,G,B), 1-based")
        }
        return bands.map { $0! }
    }
}

/// One chip cut from a scene: pixel window, 8-bit RGB pixels and, for georeferenced scenes, its footprint.
public struct SceneChip: Sendable {
    /// The window in scene pixels.
    public let window: PixelWindow
    /// The chip image (window size).
    public let image: RGBImage
    /// Footprint in EPSG:4326, `nil` when the scene has no georeferencing.
    public let footprint: GeoFootprint?
    /// Fraction of pixels that are not nodata.
    public let validFraction: Double
}

/// Cuts a (Geo)TIFF scene into chips with GDAL windowed reads.
///
/// Not thread-safe (one GDAL dataset handle); open one tiler per thread.
public final class SceneTiler {
    /// The scene file.
    public let path: String
    /// Scene size in pixels.
    public let width: Int, height: Int
    /// Tiling options in force.
    public let options: SceneTilingOptions
    /// Whether the scene has a geotransform and a CRS that transforms to EPSG:4326.
    public var isGeoreferenced: Bool { transform != nil }

    private let dataset: GDALDatasetH
    private let bandHandles: [GDALRasterBandH]
    private let noData: [Double?]
    private let geoTransform: [Double]
    private let transform: OGRCoordinateTransformationH?

    /// Opens `path` read-only.
    /// - Throws: ``GeoError`` when GDAL cannot open it, a band is out of range or the tile does not fit.
    public init(path: String, options: SceneTilingOptions) throws {
        GeoGDAL.ensureRegistered()
        self.path = path
        self.options = options
        guard options.tile >= 8, options.stride >= 1 else {
            throw GeoError.invalidOption("--tile must be ≥ 8 and --stride ≥ 1 (got \(options.tile), \(options.stride))")
        }
        guard let ds = GeoGDAL.quietly({ GDALOpen(path, GA_ReadOnly) }) else {
            throw GeoError.unreadable(path: path, reason: GeoGDAL.lastError("GDAL cannot open it"))
        }
        dataset = ds
        width = Int(GDALGetRasterXSize(ds))
        height = Int(GDALGetRasterYSize(ds))
        let count = Int(GDALGetRasterCount(ds))
        let numbers: [Int]
        do {
            numbers = try options.bands ?? Self.defaultBands(ds, count: count)
        } catch {
            GDALClose(ds)
            throw error
        }
        if let bad = numbers.first(where: { $0 < 1 || $0 > count }) {
            GDALClose(ds)
            throw GeoError.invalidOption("\(path): band \(bad) does not exist (the scene has \(count) bands)")
        }
        bandHandles = numbers.map { GDALGetRasterBand(ds, Int32($0))! }
        noData = bandHandles.map { Self.noDataValue($0) }
        var gt = [Double](repeating: 0, count: 6)
        let hasGT =
            GDALGetGeoTransform(ds, &gt) == CE_None
            && !(gt[0] == 0 && gt[1] == 1 && gt[2] == 0 && gt[3] == 0 && gt[4] == 0 && gt[5] == 1)
        geoTransform = gt
        transform = hasGT ? Self.makeTransform(ds) : nil
        // deinit closes the dataset from here on.
        try finishInit()
    }

    /// Per band: `nil` = Byte (used as is), else the scene's (low, high) stretch range.
    private var stretchRanges: [(low: Double, high: Double)?] = []

    private func finishInit() throws {
        guard width >= options.tile, height >= options.tile else {
            throw GeoError.invalidOption(
                "\(path): the scene (\(width)×\(height)) is smaller than --tile \(options.tile)")
        }
        stretchRanges = try bandHandles.enumerated().map { index, band in
            GDALGetRasterDataType(band) == GDT_Byte ? nil : try percentileRange(band, noData: noData[index])
        }
    }

    deinit {
        if let transform { OCTDestroyCoordinateTransformation(transform) }
        GDALClose(dataset)
    }

    /// How many chip windows ``windows`` will hold for the raster at `path` (0 when it cannot be opened or is
    /// smaller than a tile), read from its size alone.
    public static func windowCount(path: String, options: SceneTilingOptions) -> Int {
        GeoGDAL.ensureRegistered()
        guard options.tile > 0, options.stride > 0,
            let dataset = GeoGDAL.quietly({ GDALOpen(path, GA_ReadOnly) })
        else { return 0 }
        defer { GDALClose(dataset) }
        let (width, height) = (Int(GDALGetRasterXSize(dataset)), Int(GDALGetRasterYSize(dataset)))
        guard width >= options.tile, height >= options.tile else { return 0 }
        return ((width - options.tile) / options.stride + 1) * ((height - options.tile) / options.stride + 1)
    }

    /// The chip windows of the grid, row by row (only whole tiles).
    public var windows: [PixelWindow] {
        var result: [PixelWindow] = []
        var y = 0
        while y + options.tile <= height {
            var x = 0
            while x + options.tile <= width {
                result.append(PixelWindow(x: x, y: y, width: options.tile, height: options.tile))
                x += options.stride
            }
            y += options.stride
        }
        return result
    }

    /// The acquisition date the raster's metadata records (`ACQUISITIONDATETIME` in GDAL's `IMAGERY` domain or the
    /// default one, `ACQUISITION_DATE`, `DATE_ACQUIRED`, `DATETIME`, then `TIFFTAG_DATETIME`), `nil` when none parses.
    public var metadataDate: Date? {
        let keys: [(String, String?)] = [
            ("ACQUISITIONDATETIME", "IMAGERY"), ("ACQUISITIONDATETIME", nil), ("ACQUISITION_DATE", nil),
            ("DATE_ACQUIRED", nil), ("DATETIME", nil), ("TIFFTAG_DATETIME", nil)
        ]
        for (key, domain) in keys {
            guard let value = GDALGetMetadataItem(dataset, key, domain) else { continue }
            if let date = AcquisitionDate.parse(String(cString: value)) { return date }
        }
        return nil
    }

    /// Footprint of the whole scene (EPSG:4326), `nil` when not georeferenced.
    public var sceneFootprint: GeoFootprint? {
        footprint(of: PixelWindow(x: 0, y: 0, width: width, height: height))
    }

    /// The footprint of a pixel window: its four corners and four edge midpoints transformed to EPSG:4326.
    public func footprint(of window: PixelWindow) -> GeoFootprint? {
        guard let transform else { return nil }
        let (x0, y0) = (Double(window.x), Double(window.y))
        let (x1, y1) = (x0 + Double(window.width), y0 + Double(window.height))
        let (xm, ym) = ((x0 + x1) / 2, (y0 + y1) / 2)
        let pixels: [(Double, Double)] = [
            (x0, y0), (xm, y0), (x1, y0), (x1, ym), (x1, y1), (xm, y1), (x0, y1), (x0, ym)
        ]
        var xs = pixels.map { geoTransform[0] + $0.0 * geoTransform[1] + $0.1 * geoTransform[2] }
        var ys = pixels.map { geoTransform[3] + $0.0 * geoTransform[4] + $0.1 * geoTransform[5] }
        let ok = OCTTransform(transform, Int32(xs.count), &xs, &ys, nil)
        guard ok != 0 else { return nil }
        var ring = zip(xs, ys).map { [$0, $1] }
        ring.append(ring[0])
        return GeoFootprint(ring: ring)
    }

    /// Reads one chip at full resolution; `nil` when every pixel is nodata.
    public func chip(_ window: PixelWindow) throws -> SceneChip? {
        let (image, valid) = try render(window, outWidth: window.width, outHeight: window.height)
        guard valid > 0 else { return nil }
        return SceneChip(window: window, image: image, footprint: footprint(of: window), validFraction: valid)
    }

    /// Renders a window downsampled (GDAL average) so its longer side is at most `maxSide`, with the
    /// scene's stretch; also returns the fraction of valid (non-nodata) pixels.
    public func render(_ window: PixelWindow, maxSide: Int) throws -> (image: RGBImage, validFraction: Double) {
        let scale = min(1, Double(maxSide) / Double(max(window.width, window.height)))
        return try render(
            window, outWidth: max(1, Int((Double(window.width) * scale).rounded())),
            outHeight: max(1, Int((Double(window.height) * scale).rounded())))
    }

    /// Renders `window` into an `outWidth × outHeight` RGB image; also returns the valid fraction.
    /// The image's nodata pixels are black; ``validMask`` of the last render is kept for RGBA encoding.
    public func render(
        _ window: PixelWindow, outWidth: Int, outHeight: Int
    ) throws -> (image: RGBImage, validFraction: Double) {
        guard window.x >= 0, window.y >= 0, window.width > 0, window.height > 0,
            window.x + window.width <= width, window.y + window.height <= height
        else {
            throw GeoError.invalidOption("\(path): window \(window) lies outside the \(width)×\(height) scene")
        }
        let count = outWidth * outHeight
        var valid = [Bool](repeating: false, count: count)
        var planes: [[UInt8]] = []
        for (index, band) in bandHandles.enumerated() {
            let values = try read(band, window, outWidth, outHeight)
            let nd = noData[index]
            var plane = [UInt8](repeating: 0, count: count)
            let range = stretchRanges[index]
            for i in 0..<count {
                let v = values[i]
                if v.isNaN || (nd != nil && Double(v) == nd!) { continue }
                valid[i] = true
                if let range {
                    let scale = range.high > range.low ? 255 / (range.high - range.low) : 0
                    let x =
                        scale == 0 ? (Double(v) > range.high ? 255 : 0) : ((Double(v) - range.low) * scale).rounded()
                    plane[i] = x <= 0 ? 0 : x >= 255 ? 255 : UInt8(x)
                } else {
                    plane[i] = UInt8(clamping: Int(v.rounded()))
                }
            }
            planes.append(plane)
        }
        var pixels = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count where valid[i] {
            for c in 0..<3 { pixels[3 * i + c] = planes[planes.count == 1 ? 0 : c][i] }
        }
        lastValidMask = valid
        return (
            RGBImage(width: outWidth, height: outHeight, pixels: pixels),
            Double(valid.lazy.filter { $0 }.count) / Double(max(1, count))
        )
    }

    /// Valid-pixel mask of the last ``render(_:outWidth:outHeight:)`` (row-major, output size).
    public private(set) var lastValidMask: [Bool] = []

    // MARK: - GDAL helpers

    private func read(
        _ band: GDALRasterBandH, _ window: PixelWindow, _ outWidth: Int, _ outHeight: Int
    ) throws -> [Float] {
        var extra = GDALRasterIOExtraArg()
        extra.nVersion = 1
        extra.eResampleAlg =
            (outWidth == window.width && outHeight == window.height) ? GRIORA_NearestNeighbour : GRIORA_Average
        var values = [Float](repeating: 0, count: outWidth * outHeight)
        let status = GeoGDAL.quietly {
            values.withUnsafeMutableBytes { buffer in
                GDALRasterIOEx(
                    band, GF_Read, Int32(window.x), Int32(window.y), Int32(window.width), Int32(window.height),
                    buffer.baseAddress, Int32(outWidth), Int32(outHeight), GDT_Float32, 0, 0, &extra)
            }
        }
        guard status == CE_None else {
            throw GeoError.unreadable(path: path, reason: GeoGDAL.lastError("RasterIO of window \(window) failed"))
        }
        return values
    }

    /// The scene-wide stretch range of a non-Byte band, from a ≤ 1024 px overview read.
    private func percentileRange(_ band: GDALRasterBandH, noData: Double?) throws -> (low: Double, high: Double) {
        let full = PixelWindow(x: 0, y: 0, width: width, height: height)
        let scale = min(1, 1024 / Double(max(width, height)))
        let values = try read(band, full, max(1, Int(Double(width) * scale)), max(1, Int(Double(height) * scale)))
        let sample = values.filter { $0.isFinite && (noData == nil || Double($0) != noData!) }.sorted()
        guard !sample.isEmpty else { return (0, 0) }
        func percentile(_ p: Double) -> Double {
            let position = p / 100 * Double(sample.count - 1)
            let index = Int(position.rounded(.down))
            let lower = Double(sample[index])
            guard index + 1 < sample.count else { return lower }
            return lower + (Double(sample[index + 1]) - lower) * (position - Double(index))
        }
        return (percentile(options.stretchPercentiles.low), percentile(options.stretchPercentiles.high))
    }

    private static func noDataValue(_ band: GDALRasterBandH) -> Double? {
        var has: Int32 = 0
        let value = GDALGetRasterNoDataValue(band, &has)
        return has != 0 ? value : nil
    }

    private static func defaultBands(_ ds: GDALDatasetH, count: Int) throws -> [Int] {
        guard count > 0 else { throw GeoError.invalidOption("the scene has no raster bands") }
        if count < 3 { return [1] }
        let interpretations = (1...count).map { GDALGetRasterColorInterpretation(GDALGetRasterBand(ds, Int32($0))) }
        if let r = interpretations.firstIndex(of: GCI_RedBand), let g = interpretations.firstIndex(of: GCI_GreenBand),
            let b = interpretations.firstIndex(of: GCI_BlueBand)
        {
            return [r + 1, g + 1, b + 1]
        }
        return [1, 2, 3]
    }

    /// Scene CRS → EPSG:4326 (lon/lat order), or `nil` without a usable CRS.
    private static func makeTransform(_ ds: GDALDatasetH) -> OGRCoordinateTransformationH? {
        guard let sceneSRS = GDALGetSpatialRef(ds), let source = OSRClone(sceneSRS) else { return nil }
        defer { OSRDestroySpatialReference(source) }
        guard let target = OSRNewSpatialReference(nil) else { return nil }
        defer { OSRDestroySpatialReference(target) }
        guard OSRImportFromEPSG(target, 4326) == OGRERR_NONE else { return nil }
        OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
        OSRSetAxisMappingStrategy(target, OAMS_TRADITIONAL_GIS_ORDER)
        return GeoGDAL.quietly { OCTNewCoordinateTransformation(source, target) }
    }
}

/// Process-wide GDAL registration and quiet error handling for this module.
enum GeoGDAL {
    /// Registers GDAL's drivers once (``GDALRuntime``: one set-up for the whole process).
    static func ensureRegistered() { GDALRuntime.ensureRegistered() }

    /// Runs `body` with GDAL messages on this thread silenced (still readable via ``lastError(_:)``).
    static func quietly<T>(_ body: () throws -> T) rethrows -> T {
        CPLErrorReset()
        CPLPushErrorHandler(CPLQuietErrorHandler)
        defer { CPLPopErrorHandler() }
        return try body()
    }

    /// GDAL's last error message on this thread, or `fallback`.
    static func lastError(_ fallback: String) -> String {
        guard let message = CPLGetLastErrorMsg(), message.pointee != 0 else { return fallback }
        return String(cString: message)
    }
}
