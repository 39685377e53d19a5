import CGDAL
import Foundation

/// Writes a 3-band UInt16 GeoTIFF (UTM 14N, 10 m pixels unless `epsg`/`transform` say otherwise) whose left
/// half ramps over 1000…5000 and whose right half is nodata (0).
func writeUInt16Scene(
    path: String, width: Int, height: Int, epsg: Int32 = 32614,
    transform: [Double] = [486000, 10, 0, 5209000, 0, -10]
) throws {
    GDALAllRegister()
    guard let driver = GDALGetDriverByName("GTiff"),
        let ds = GDALCreate(driver, path, Int32(width), Int32(height), 3, GDT_UInt16, nil)
    else {
        throw CocoaError(.fileWriteUnknown)
    }
    defer { GDALClose(ds) }
    var transform = transform
    GDALSetGeoTransform(ds, &transform)
    let srs = OSRNewSpatialReference(nil)
    defer { OSRDestroySpatialReference(srs) }
    OSRImportFromEPSG(srs, epsg)
    GDALSetSpatialRef(ds, srs)
    for bandIndex in 1...3 {
        let band = GDALGetRasterBand(ds, Int32(bandIndex))
        GDALSetRasterNoDataValue(band, 0)
        var values = [UInt16](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<(width / 2) {
                values[y * width + x] = UInt16(1000 + (4000 * (x + y + bandIndex * 7)) / (width / 2 + height + 21))
            }
        }
        let status = values.withUnsafeMutableBytes {
            GDALRasterIO(
                band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress,
                Int32(width), Int32(height), GDT_UInt16, 0, 0)
        }
        guard status == CE_None else { throw CocoaError(.fileWriteUnknown) }
    }
}
