import CGDAL
import Foundation
import SatSeekImaging

/// Encodes images to PNG or JPEG bytes with GDAL: a MEM dataset copied with `CreateCopy` into `/vsimem`.
public enum ImageEncoder {
    /// Output formats.
    public enum Format: String, Sendable {
        case png, jpeg

        /// HTTP content type.
        public var contentType: String { self == .png ? "image/png" : "image/jpeg" }
        var driver: String { self == .png ? "PNG" : "JPEG" }
    }

    /// Encodes `image`; with `alpha` (one flag per pixel, PNG only) pixels whose flag is `false` become
    /// transparent.
    /// - Throws: ``GeoError/unreadable(path:reason:)`` when GDAL fails.
    public static func encode(
        _ image: RGBImage, as format: Format, alpha: [Bool]? = nil, quality: Int = 85
    ) throws -> Data {
        GeoGDAL.ensureRegistered()
        let (w, h) = (image.width, image.height)
        let withAlpha = format == .png && alpha?.count == w * h
        let bands = withAlpha ? 4 : 3
        var buffer = [UInt8](repeating: 255, count: w * h * bands)
        for i in 0..<(w * h) {
            buffer[bands * i] = image.pixels[3 * i]
            buffer[bands * i + 1] = image.pixels[3 * i + 1]
            buffer[bands * i + 2] = image.pixels[3 * i + 2]
            if withAlpha { buffer[bands * i + 3] = alpha![i] ? 255 : 0 }
        }
        return try GeoGDAL.quietly {
            guard let mem = GDALGetDriverByName("MEM"), let out = GDALGetDriverByName(format.driver),
                let source = GDALCreate(mem, "", Int32(w), Int32(h), Int32(bands), GDT_Byte, nil)
            else {
                throw GeoError.unreadable(
                    path: "<memory>", reason: GeoGDAL.lastError("GDAL MEM/\(format.driver) driver missing"))
            }
            defer { GDALClose(source) }
            let status = buffer.withUnsafeMutableBytes { raw in
                GDALDatasetRasterIO(
                    source, GF_Write, 0, 0, Int32(w), Int32(h), raw.baseAddress, Int32(w), Int32(h),
                    GDT_Byte, Int32(bands), nil, Int32(bands), Int32(bands * w), 1)
            }
            guard status == CE_None else {
                throw GeoError.unreadable(path: "<memory>", reason: GeoGDAL.lastError("writing the MEM dataset failed"))
            }
            let name = "/vsimem/satseek-\(UUID().uuidString).\(format.rawValue)"
            var options: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
            if format == .jpeg { options = CSLSetNameValue(options, "QUALITY", String(quality)) }
            defer { CSLDestroy(options) }
            guard let copy = GDALCreateCopy(out, name, source, 0, options, nil, nil) else {
                VSIUnlink(name)
                throw GeoError.unreadable(
                    path: "<memory>", reason: GeoGDAL.lastError("\(format.driver) encoding failed"))
            }
            GDALClose(copy)
            var length: vsi_l_offset = 0
            guard let bytes = VSIGetMemFileBuffer(name, &length, 1) else {
                throw GeoError.unreadable(path: "<memory>", reason: "no \(format.driver) output")
            }
            defer { VSIFree(bytes) }
            return Data(bytes: bytes, count: Int(length))
        }
    }
}
