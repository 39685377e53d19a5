import CGDAL

/// Reads an open GDAL dataset into an ``RGBImage`` following ``ImageDecoder``'s band rule.
struct RasterReader {
    let dataset: GDALDatasetH
    let path: String

    /// Which bands become R, G and B.
    private enum Plan {
        case gray(GDALRasterBandH)
        case palette(GDALRasterBandH, GDALColorTableH)
        case rgb(GDALRasterBandH, GDALRasterBandH, GDALRasterBandH)
    }

    /// Reads the dataset, downsampled if its longer side exceeds `maxSide`.
    func read(maxSide: Int?, log: GDALMessageLog) throws -> RGBImage {
        let width = Int(GDALGetRasterXSize(dataset)), height = Int(GDALGetRasterYSize(dataset))
        guard width > 0, height > 0 else { throw failure("raster has no pixels (\(width)×\(height))") }
        let (outWidth, outHeight) = Self.outputSize(width: width, height: height, maxSide: maxSide)
        guard outWidth * outHeight <= ImageDecoder.maxPixels else {
            throw failure("image too large to decode (\(width)×\(height)); pass maxSide")
        }
        let window = Window(width: width, height: height, outWidth: outWidth, outHeight: outHeight)
        let count = outWidth * outHeight
        var pixels = [UInt8](repeating: 0, count: count * 3)
        switch try plan() {
        case .gray(let band):
            let plane = try bytePlane(band, window, log)
            for i in 0..<count {
                pixels[3 * i] = plane[i]; pixels[3 * i + 1] = plane[i]; pixels[3 * i + 2] = plane[i]
            }
        case .palette(let band, let table):
            let lut = Self.paletteLookup(table)
            let nodata = Self.noData(band)
            let indices: [Int32] = try readPlane(band, window, GDT_Int32, .nearest, log)
            for i in 0..<count {
                let index = Int(indices[i])
                guard index >= 0, index < lut.count, Double(index) != nodata else { continue }
                (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = lut[index]
            }
        case .rgb(let red, let green, let blue)
        where [red, green, blue].allSatisfy({ GDALGetRasterDataType($0) == GDT_Byte }):
            // One pixel-interleaved read of the three bands (GDAL's JPEG driver then decodes scanlines
            // straight into `pixels`, without its block cache), then each band's nodata → 0.
            try readInterleaved([red, green, blue], window, into: &pixels, log)
            for (channel, band) in [red, green, blue].enumerated() {
                guard let value = Self.byteNoData(band) else { continue }
                for i in 0..<count where pixels[3 * i + channel] == value { pixels[3 * i + channel] = 0 }
            }
        case .rgb(let red, let green, let blue):
            for (channel, band) in [red, green, blue].enumerated() {
                let plane = try bytePlane(band, window, log)
                for i in 0..<count { pixels[3 * i + channel] = plane[i] }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: pixels)
    }

    /// Output size for `maxSide`: the longer side becomes `maxSide`, the shorter keeps the aspect (≥ 1).
    static func outputSize(width: Int, height: Int, maxSide: Int?) -> (Int, Int) {
        guard let maxSide, max(width, height) > maxSide else { return (width, height) }
        let long = max(width, height), short = min(width, height)
        let scaledShort = max(1, Int((Double(short) * Double(maxSide) / Double(long)).rounded()))
        return width >= height ? (maxSide, scaledShort) : (scaledShort, maxSide)
    }

    // MARK: - Band selection

    private func plan() throws -> Plan {
        let count = Int(GDALGetRasterCount(dataset))
        guard count > 0 else { throw failure("image has no raster bands") }
        let bands = try (1...count).map { index -> GDALRasterBandH in
            guard let band = GDALGetRasterBand(dataset, Int32(index)) else {
                throw failure("cannot access band \(index)")
            }
            return band
        }
        if count <= 2 {
            if GDALGetRasterColorInterpretation(bands[0]) == GCI_PaletteIndex,
                let table = GDALGetRasterColorTable(bands[0])
            {
                return .palette(bands[0], table)
            }
            return .gray(bands[0])
        }
        let interpretations = bands.map { GDALGetRasterColorInterpretation($0) }
        if let r = interpretations.firstIndex(of: GCI_RedBand),
            let g = interpretations.firstIndex(of: GCI_GreenBand),
            let b = interpretations.firstIndex(of: GCI_BlueBand)
        {
            return .rgb(bands[r], bands[g], bands[b])
        }
        return .rgb(bands[0], bands[1], bands[2])
    }

    // MARK: - Reading and conversion

    private struct Window {
        let width: Int, height: Int, outWidth: Int, outHeight: Int
    }

    private enum Resampling { case average, nearest }

    /// One band as 8-bit samples: Byte as is, other types stretched 2–98 %; nodata → 0.
    private func bytePlane(_ band: GDALRasterBandH, _ window: Window, _ log: GDALMessageLog) throws -> [UInt8] {
        let nodata = Self.noData(band)
        if GDALGetRasterDataType(band) == GDT_Byte {
            var plane: [UInt8] = try readPlane(band, window, GDT_Byte, .average, log)
            if let value = Self.byteNoData(band) {
                for i in plane.indices where plane[i] == value { plane[i] = 0 }
            }
            return plane
        }
        let values: [Float] = try readPlane(band, window, GDT_Float32, .average, log)
        return PercentileStretch.apply(values, noData: nodata.map { Float($0) })
    }

    /// Reads the whole band into a `T` buffer of the output size with `type` as GDAL buffer type.
    private func readPlane<T: Numeric>(
        _ band: GDALRasterBandH, _ window: Window, _ type: GDALDataType,
        _ resampling: Resampling, _ log: GDALMessageLog
    ) throws -> [T] {
        var extra = Self.ioArguments(resampling)
        var plane = [T](repeating: 0, count: window.outWidth * window.outHeight)
        let start = log.messages.count
        let status = plane.withUnsafeMutableBytes { buffer in
            GDALRasterIOEx(
                band, GF_Read, 0, 0, Int32(window.width), Int32(window.height),
                buffer.baseAddress, Int32(window.outWidth), Int32(window.outHeight), type,
                0, 0, &extra)
        }
        try check(status, log, since: start)
        return plane
    }

    /// Reads three Byte bands into interleaved RGB `pixels` of the output size (average resampling).
    private func readInterleaved(
        _ bands: [GDALRasterBandH], _ window: Window, into pixels: inout [UInt8],
        _ log: GDALMessageLog
    ) throws {
        var extra = Self.ioArguments(.average)
        var bandMap = bands.map { GDALGetBandNumber($0) }
        let start = log.messages.count
        let status = pixels.withUnsafeMutableBytes { buffer in
            GDALDatasetRasterIOEx(
                dataset, GF_Read, 0, 0, Int32(window.width), Int32(window.height),
                buffer.baseAddress, Int32(window.outWidth), Int32(window.outHeight), GDT_Byte,
                3, &bandMap, 3, GSpacing(3 * window.outWidth), 1, &extra)
        }
        try check(status, log, since: start)
    }

    /// `GDALRasterIOEx`'s extra arguments for a whole-raster read with `resampling`.
    private static func ioArguments(_ resampling: Resampling) -> GDALRasterIOExtraArg {
        var extra = GDALRasterIOExtraArg()
        extra.nVersion = 1  // RASTERIO_EXTRA_ARG_CURRENT_VERSION
        extra.eResampleAlg = resampling == .average ? GRIORA_Average : GRIORA_NearestNeighbour
        extra.bFloatingPointWindowValidity = 0
        return extra
    }

    /// Throws the last failure GDAL logged since message `start` when a RasterIO returned `status` ≠ CE_None.
    private func check(_ status: CPLErr, _ log: GDALMessageLog, since start: Int) throws {
        guard status == CE_None else {
            let text = log.messages(since: start).last(where: \.isFailure)?.text ?? "RasterIO failed"
            throw failure(ImageError.corrupt(text))
        }
    }

    /// The nodata value of a Byte band as a level, when it is one (0…255, whole).
    private static func byteNoData(_ band: GDALRasterBandH) -> UInt8? {
        guard let nodata = noData(band), nodata >= 0, nodata <= 255, nodata == nodata.rounded() else { return nil }
        return UInt8(nodata)
    }

    /// The band's nodata value, if it has one.
    private static func noData(_ band: GDALRasterBandH) -> Double? {
        var hasNoData: Int32 = 0
        let value = GDALGetRasterNoDataValue(band, &hasNoData)
        return hasNoData != 0 ? value : nil
    }

    /// RGB colours for every palette index (gray palettes replicated; other palette kinds read as RGB).
    private static func paletteLookup(_ table: GDALColorTableH) -> [(UInt8, UInt8, UInt8)] {
        let gray = GDALGetPaletteInterpretation(table) == GPI_Gray
        return (0..<Int(GDALGetColorEntryCount(table))).map { index in
            guard let entry = GDALGetColorEntry(table, Int32(index))?.pointee else { return (0, 0, 0) }
            func byte(_ v: Int16) -> UInt8 { UInt8(clamping: v) }
            return gray
                ? (byte(entry.c1), byte(entry.c1), byte(entry.c1))
                : (byte(entry.c1), byte(entry.c2), byte(entry.c3))
        }
    }

    private func failure(_ reason: String) -> ImageError {
        ImageError(path: path, reason: reason)
    }
}

/// The per-band contrast stretch for non-Byte data (see ``ImageDecoder``).
enum PercentileStretch {
    /// Above this many valid samples, percentiles are estimated from an evenly strided subsample.
    static let maxSortedSamples = 1 << 22

    /// Maps `values` linearly from their 2nd–98th percentile onto 0…255 (rounded, clipped);
    /// nodata and NaN samples become 0, and are excluded from the percentiles along with ±∞.
    static func apply(_ values: [Float], noData: Float?) -> [UInt8] {
        func isValid(_ v: Float) -> Bool { !v.isNaN && v != noData }
        var sample = values.filter { isValid($0) && $0.isFinite }
        guard !sample.isEmpty else { return [UInt8](repeating: 0, count: values.count) }
        if sample.count > maxSortedSamples {
            let stride = (sample.count + maxSortedSamples - 1) / maxSortedSamples
            sample = Swift.stride(from: 0, to: sample.count, by: stride).map { sample[$0] }
        }
        sample.sort()
        let low = percentile(sample, 2), high = percentile(sample, 98)
        let scale = high > low ? 255 / (high - low) : 0
        return values.map { v in
            guard isValid(v) else { return 0 }
            if scale == 0 { return Double(v) > high ? 255 : 0 }
            let x = ((Double(v) - low) * scale).rounded()
            return x <= 0 ? 0 : x >= 255 ? 255 : UInt8(x)
        }
    }

    /// The `p`-th percentile of sorted `values`, interpolating linearly between order statistics
    /// (NumPy's default "linear" method).
    static func percentile(_ sorted: [Float], _ p: Double) -> Double {
        let position = p / 100 * Double(sorted.count - 1)
        let index = Int(position.rounded(.down))
        let fraction = position - Double(index)
        let lower = Double(sorted[index])
        guard index + 1 < sorted.count else { return lower }
        return lower + (Double(sorted[index + 1]) - lower) * fraction
    }
}
