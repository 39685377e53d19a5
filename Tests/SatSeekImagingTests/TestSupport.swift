import CGDAL
import Foundation
@testable import SatSeekImaging

/// Paths to the package and the shared read-only data folder (`../shared` from the package root).
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = packageRoot.appendingPathComponent("../shared").standardizedFileURL

    static func sharedFile(_ relative: String) -> URL { shared.appendingPathComponent(relative) }

    static let naip = sharedFile("geotiff/naip_m_4709963_se_14_1_20090818.tif")
    static let landsat = sharedFile("geotiff/landsat_2000.tif")

    /// All aid-mini JPEGs, sorted by path.
    static func aidMiniJPEGs() throws -> [URL] {
        let root = sharedFile("datasets/aid-mini")
        let classes = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        return try classes.flatMap { name -> [URL] in
            let folder = root.appendingPathComponent(name)
            return try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".jpg") }.sorted().map { folder.appendingPathComponent($0) }
        }
    }
}

/// A fresh temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("SatSeekImagingTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Writes small rasters with GDAL itself: built in the MEM driver, then `GDALCreateCopy` to a format.
enum RasterWriter {
    struct Band {
        var values: [Double]
        var interpretation: GDALColorInterp? = nil
        var noData: Double? = nil
        /// RGBA palette entries; makes the band a palette index band.
        var palette: [(Int16, Int16, Int16, Int16)]? = nil
    }

    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// Writes `bands` (each `width * height` values, row-major) as `type` with `driver` to `url`.
    /// - Parameter epsg: If set, a geotransform and this CRS are written too (GeoTIFF).
    static func write(
        _ url: URL, driver: String, width: Int, height: Int, type: GDALDataType,
        bands: [Band], epsg: Int32? = nil, options: [String] = []
    ) throws {
        _ = registered
        guard let memDriver = GDALGetDriverByName("MEM"), let outDriver = GDALGetDriverByName(driver),
            let mem = GDALCreate(memDriver, "", Int32(width), Int32(height), Int32(bands.count), type, nil)
        else { throw WriteError(description: "cannot create MEM dataset / find driver \(driver)") }
        defer { GDALClose(mem) }
        for (index, spec) in bands.enumerated() {
            precondition(spec.values.count == width * height)
            let band = GDALGetRasterBand(mem, Int32(index + 1))!
            var values = spec.values
            let status = values.withUnsafeMutableBytes {
                GDALRasterIO(
                    band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress,
                    Int32(width), Int32(height), GDT_Float64, 0, 0)
            }
            guard status == CE_None else { throw WriteError(description: "RasterIO write failed") }
            if let interpretation = spec.interpretation { GDALSetRasterColorInterpretation(band, interpretation) }
            if let noData = spec.noData { GDALSetRasterNoDataValue(band, noData) }
            if let palette = spec.palette {
                let table = GDALCreateColorTable(GPI_RGB)!
                defer { GDALDestroyColorTable(table) }
                for (i, c) in palette.enumerated() {
                    var entry = GDALColorEntry(c1: c.0, c2: c.1, c3: c.2, c4: c.3)
                    GDALSetColorEntry(table, Int32(i), &entry)
                }
                GDALSetRasterColorTable(band, table)
                GDALSetRasterColorInterpretation(band, GCI_PaletteIndex)
            }
        }
        if let epsg {
            var transform: [Double] = [500_000, 10, 0, 5_200_000, 0, -10]
            GDALSetGeoTransform(mem, &transform)
            let srs = OSRNewSpatialReference(nil)
            defer { OSRDestroySpatialReference(srs) }
            var wkt: UnsafeMutablePointer<CChar>?
            if OSRImportFromEPSG(srs, epsg) == OGRERR_NONE, OSRExportToWkt(srs, &wkt) == OGRERR_NONE, let wkt {
                GDALSetProjection(mem, wkt)
                VSIFree(wkt)
            }
        }
        let cOptions = options.reduce(into: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.none) {
            $0 = CSLAddString($0, $1)
        }
        defer { CSLDestroy(cOptions) }
        guard let copy = GDALCreateCopy(outDriver, url.path, mem, 0, cOptions, nil, nil) else {
            throw WriteError(
                description: "GDALCreateCopy to \(driver) failed: \(String(cString: CPLGetLastErrorMsg()))")
        }
        GDALClose(copy)
    }

    /// Reads band `index` (1-based) of `url` at full resolution as bytes, straight from GDAL.
    static func readByteBand(_ url: URL, index: Int32) throws -> [UInt8] {
        _ = registered
        CPLPushErrorHandler(CPLQuietErrorHandler)
        defer { CPLPopErrorHandler() }
        guard let ds = GDALOpen(url.path, GA_ReadOnly) else { throw WriteError(description: "cannot open \(url.path)") }
        defer { GDALClose(ds) }
        let width = GDALGetRasterXSize(ds), height = GDALGetRasterYSize(ds)
        var bytes = [UInt8](repeating: 0, count: Int(width * height))
        let status = bytes.withUnsafeMutableBytes {
            GDALRasterIO(
                GDALGetRasterBand(ds, index), GF_Read, 0, 0, width, height, $0.baseAddress,
                width, height, GDT_Byte, 0, 0)
        }
        guard status == CE_None else { throw WriteError(description: "RasterIO read failed") }
        return bytes
    }

    private static let registered: Bool = {
        GDALAllRegister()
        return true
    }()
}

/// Bytes from a hex string (whitespace ignored).
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.unicodeScalars.filter { !$0.properties.isWhitespace })
    precondition(digits.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(String.UnicodeScalarView(digits[$0...$0 + 1])), radix: 16)!
    }
}

/// Little-endian float32 values from a hex string.
func floats(hex: String) -> [Float] {
    let raw = bytes(hex: hex)
    return stride(from: 0, to: raw.count, by: 4).map { i in
        Float(
            bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
    }
}

/// One channel (0 = R, 1 = G, 2 = B) of an image as a plane.
func channel(_ image: RGBImage, _ c: Int) -> [UInt8] {
    stride(from: c, to: image.pixels.count, by: 3).map { image.pixels[$0] }
}

/// Largest absolute per-sample difference between two equally sized byte arrays.
func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}
