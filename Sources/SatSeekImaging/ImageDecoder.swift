import CGDAL
import Foundation

/// Decodes raster files to 8-bit RGB with GDAL.
///
/// ## Band rule
/// Every raster GDAL can open becomes an ``RGBImage`` by this rule:
/// - **1 band**: grayscale, replicated to R, G and B — or, when the band is a palette index with a
///   GDAL colour table, each index is expanded through the table to its RGB colour.
/// - **2 bands**: gray + alpha — the gray band is replicated, the alpha band is dropped.
/// - **3 bands**: RGB. **4 or more bands**: if the bands' colour interpretations name a red, a green
///   and a blue band (RGBA, BGR, …), those three are used; otherwise bands 1, 2 and 3
///   (so NAIP's R, G, B, NIR becomes R, G, B and a Landsat SWIR1, NIR, Red, Green stack shows
///   bands 1–3 as a false-colour composite). Alpha is never applied, only dropped.
/// - **Sample types**: Byte data is used as is. 16-bit, 32-bit and floating-point data are stretched
///   per band, linearly, from the band's 2nd to its 98th percentile (computed over valid pixels,
///   nodata and NaN excluded; percentiles interpolate linearly between order statistics) onto 0…255,
///   rounded and clipped (percentiles of the pixels actually read, i.e. after any `maxSide`
///   downsampling). This is what gives a Landsat or other 16-bit scene visible contrast:
///   its values typically occupy a few hundred of 65 536 levels, which would be black if simply
///   scaled. A flat band (98th percentile equal to the 2nd) becomes 0.
/// - **nodata**: pixels equal to a band's nodata value (and NaN samples) become 0.
///
/// With `maxSide`, larger rasters are read downsampled by GDAL (average resampling; nearest for
/// palette indices, where averaging indices would be meaningless) so that the longer side is exactly
/// `maxSide` and the shorter side keeps the aspect ratio (rounded, at least 1). GDAL uses the file's
/// overviews when it has some.
///
/// ## Errors
/// Failures throw ``ImageError`` naming the file, with reason `"file does not exist"`,
/// `"empty file (0 bytes)"`, `"not a recognised image format"` or
/// `"truncated or corrupt image data (GDAL: …)"`. A truncated JPEG is an error, never a half-grey
/// image: libjpeg reports a missing tail only as a warning ("Premature end of JPEG file"), so
/// data-loss warnings raised while reading pixels are treated as errors.
///
/// Decoding different files on different threads concurrently is safe.
public enum ImageDecoder {
    /// Largest number of output pixels a decode will allocate (pass `maxSide` for larger rasters).
    public static let maxPixels = 1 << 28

    /// Largest raster, in pixels, a file decode opens by default (checked from the header before any pixel is
    /// read): 2³⁰ ≈ 1.07 gigapixels. Scenes larger than this are tiled (`index --tile`), not decoded whole.
    public static let maxSourcePixels = 1 << 30

    /// Default limit for in-memory uploads: 2²⁶ ≈ 67 megapixels (a 437 KB PNG can declare 60 000 × 60 000
    /// px, which would cost seconds of CPU and gigabytes to read even downsampled).
    public static let maxUploadPixels = 1 << 26

    /// GDAL drivers allowed for in-memory uploads: self-contained image formats only.
    public static let uploadDrivers = ["JPEG", "PNG", "GTiff", "COG", "WEBP", "GIF", "BMP", "PNM", "JP2OpenJPEG"]

    /// Decodes a raster file (JPEG, PNG, TIFF, GeoTIFF, … anything GDAL can open) to 8-bit RGB by the band rule.
    /// - Parameters:
    ///   - url: A file URL.
    ///   - maxSide: If the raster's longer side exceeds this, it is read downsampled (average
    ///     resampling) so that its longer side is `maxSide`.
    /// - Returns: The decoded image.
    /// - Throws: ``ImageError`` with the file's path and the reason.
    public static func decode(
        _ url: URL, maxSide: Int? = nil, maxSourcePixels: Int = maxSourcePixels
    ) throws -> RGBImage {
        let path = url.path
        // One stat (Foundation's attributesOfItem also looks up the owner's name: ≈ 30 µs a file).
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ImageError(
                path: path,
                reason: errno == ENOENT || errno == ENOTDIR
                    ? ImageError.missing
                    : "cannot read file (\(String(cString: strerror(errno))))")
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw ImageError(path: path, reason: "is a directory, not an image file")
        }
        guard access(path, R_OK) == 0 else {
            throw ImageError(path: path, reason: "file is not readable (permission denied)")
        }
        if info.st_size == 0 {
            throw ImageError(path: path, reason: ImageError.empty)
        }
        return try decodeWithGDAL(gdalPath: path, displayPath: path, maxSide: maxSide, maxSourcePixels: maxSourcePixels)
    }

    /// Decodes an image held in memory (an upload), through GDAL's `/vsimem/` virtual file system.
    ///
    /// Only self-contained raster formats are accepted (``uploadDrivers``): formats such as VRT,
    /// which can point GDAL at other files or URLs, are refused as "not a recognised image format".
    /// - Parameters:
    ///   - data: The encoded file's bytes.
    ///   - name: The upload's file name; used in errors and, by its extension, as a format hint.
    ///   - maxSide: As in ``decode(_:maxSide:maxSourcePixels:)``.
    ///   - maxSourcePixels: Refuse a raster declaring more pixels than this (checked from the header).
    /// - Returns: The decoded image.
    /// - Throws: ``ImageError`` with `name` as the path and the reason.
    public static func decode(
        data: Data, name: String, maxSide: Int? = nil,
        maxSourcePixels: Int = maxUploadPixels
    ) throws -> RGBImage {
        if data.isEmpty {
            throw ImageError(path: name, reason: ImageError.empty)
        }
        GDALRuntime.ensureRegistered()
        let safeName = name.split(separator: "/").last.map(String.init) ?? ""
        let directory = "/vsimem/satseek-upload-\(UUID().uuidString)"
        let memPath = "\(directory)/\(safeName.isEmpty ? "upload" : safeName)"
        // GDAL takes ownership of a VSIMalloc'd copy and frees it when the file is unlinked.
        guard let buffer = VSIMalloc(data.count) else {
            throw ImageError(path: name, reason: "out of memory (\(data.count) bytes)")
        }
        data.withUnsafeBytes { raw in
            buffer.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
        }
        guard
            let handle = VSIFileFromMemBuffer(
                memPath, buffer.assumingMemoryBound(to: GByte.self), vsi_l_offset(data.count), 1)
        else {
            VSIFree(buffer)
            throw ImageError(path: name, reason: "could not create in-memory file \(memPath)")
        }
        VSIFCloseL(handle)
        defer { VSIRmdirRecursive(directory) }
        return try decodeWithGDAL(
            gdalPath: memPath, displayPath: name, maxSide: maxSide, maxSourcePixels: maxSourcePixels,
            drivers: uploadDrivers)
    }

    // MARK: - GDAL

    private static func decodeWithGDAL(
        gdalPath: String, displayPath: String, maxSide: Int?, maxSourcePixels: Int,
        drivers: [String]? = nil
    ) throws -> RGBImage {
        if let maxSide, maxSide < 1 {
            throw ImageError(path: displayPath, reason: "maxSide must be at least 1 (got \(maxSide))")
        }
        // Don't list the whole directory on every open (slow for folders of thousands of images).
        return try withThreadLocalGDALConfig([("GDAL_DISABLE_READDIR_ON_OPEN", "TRUE")]) {
            try withGDALMessageCapture { log in
                let flags = UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR)
                let opened = withCStringList(drivers) { GDALOpenEx(gdalPath, flags, $0, nil, nil) }
                guard let dataset = opened else {
                    throw ImageError(path: displayPath, reason: openFailureReason(log.messages))
                }
                defer { GDALClose(dataset) }
                // A decompression bomb declares a huge raster in a small file: refuse it from the header.
                let width = Int(GDALGetRasterXSize(dataset)), height = Int(GDALGetRasterYSize(dataset))
                let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
                if overflow || pixels > maxSourcePixels {
                    throw ImageError(
                        path: displayPath,
                        reason: "declares \(width)×\(height) px, more than the "
                            + "\(maxSourcePixels / 1_000_000)-megapixel limit for one image (tile large scenes with `index --tile`)"
                    )
                }
                let readStart = log.messages.count
                let reader = RasterReader(dataset: dataset, path: displayPath)
                let image = try reader.read(maxSide: maxSide, log: log)
                if let problem = log.messages(since: readStart).first(where: indicatesDataLoss) {
                    throw ImageError(path: displayPath, reason: ImageError.corrupt(conciseMessage(problem.text)))
                }
                return image
            }
        }
    }

    /// Calls `body` with `strings` as a NULL-terminated C string list (NULL when `strings` is nil).
    private static func withCStringList<T>(
        _ strings: [String]?, _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T
    ) -> T {
        guard let strings else { return body(nil) }
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let list: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
        return list.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// Reason for a failed `GDALOpenEx`: unrecognised unless GDAL recognised the format and then failed.
    private static func openFailureReason(_ messages: [GDALMessage]) -> String {
        let failures = messages.filter(\.isFailure)
        guard let last = failures.last,
            !failures.contains(where: { $0.text.contains("not recognized as") })
        else { return ImageError.unrecognised }
        return ImageError.corrupt(last.text)
    }

    /// GDAL's message without its advice on configuration options (not actionable for users).
    static func conciseMessage(_ text: String) -> String {
        guard let advice = text.range(of: " (this warning can be turned") else { return text }
        return String(text[..<advice.lowerBound])
    }

    /// Whether a message reported while reading pixels means the image is incomplete or damaged.
    ///
    /// Errors always do. libjpeg reports truncation and damaged entropy-coded data only as warnings
    /// ("Premature end of JPEG file", "Corrupt JPEG data: premature end of data segment", "bad Huffman
    /// code", …) and fills the rest with grey, so those warnings count too — except "extraneous bytes
    /// before marker", which is junk between complete segments and loses no pixels.
    static func indicatesDataLoss(_ message: GDALMessage) -> Bool {
        if message.isFailure { return true }
        let text = message.text.lowercased()
        if text.contains("extraneous bytes") { return false }
        return text.contains("premature end") || text.contains("corrupt jpeg data")
            || text.contains("huffman") || text.contains("truncated")
    }
}
