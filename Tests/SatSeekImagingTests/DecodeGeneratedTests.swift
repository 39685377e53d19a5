import CGDAL
import Foundation
import Testing
@testable import SatSeekImaging

/// Rasters written by GDAL in the test, one per case of the band rule, with exact expected pixels.
@Suite struct DecodeGeneratedTests {
    let width = 5, height = 4
    var count: Int { width * height }

    @Test func grayscalePNGIsReplicated() throws {
        let dir = try TemporaryDirectory(), url = dir.file("gray.png")
        let gray = (0..<count).map { Double($0 * 13) }
        try RasterWriter.write(
            url, driver: "PNG", width: width, height: height, type: GDT_Byte, bands: [.init(values: gray)])
        let image = try ImageDecoder.decode(url)
        #expect(image.width == width && image.height == height)
        #expect(image.pixels == gray.flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
    }

    @Test func grayAlphaPNGDropsAlpha() throws {
        let dir = try TemporaryDirectory(), url = dir.file("gray-alpha.png")
        let gray = (0..<count).map { Double(255 - $0 * 7) }
        let alpha = (0..<count).map { Double($0 % 2 == 0 ? 0 : 255) }
        try RasterWriter.write(
            url, driver: "PNG", width: width, height: height, type: GDT_Byte,
            bands: [
                .init(values: gray, interpretation: GCI_GrayIndex), .init(values: alpha, interpretation: GCI_AlphaBand)
            ])
        let image = try ImageDecoder.decode(url)
        #expect(image.pixels == gray.flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
    }

    @Test func rgbaPNGUsesRGB() throws {
        let dir = try TemporaryDirectory(), url = dir.file("rgba.png")
        let r = (0..<count).map { Double($0 * 10) }, g = (0..<count).map { Double(200 - $0 * 3) }
        let b = (0..<count).map { Double(($0 * 37) % 256) }, a = [Double](repeating: 128, count: count)
        try RasterWriter.write(
            url, driver: "PNG", width: width, height: height, type: GDT_Byte,
            bands: [
                .init(values: r), .init(values: g), .init(values: b), .init(values: a, interpretation: GCI_AlphaBand)
            ])
        let image = try ImageDecoder.decode(url)
        #expect(image.pixels == (0..<count).flatMap { [UInt8(r[$0]), UInt8(g[$0]), UInt8(b[$0])] })
    }

    @Test func palettePNGIsExpanded() throws {
        let dir = try TemporaryDirectory(), url = dir.file("palette.png")
        let palette: [(Int16, Int16, Int16, Int16)] = [
            (255, 0, 0, 255), (0, 128, 0, 255), (10, 20, 250, 255), (7, 7, 7, 255)
        ]
        let indices = (0..<count).map { Double($0 % 4) }
        try RasterWriter.write(
            url, driver: "PNG", width: width, height: height, type: GDT_Byte,
            bands: [.init(values: indices, palette: palette)])
        let image = try ImageDecoder.decode(url)
        #expect(
            image.pixels
                == indices.flatMap { i -> [UInt8] in
                    let c = palette[Int(i)]
                    return [UInt8(c.0), UInt8(c.1), UInt8(c.2)]
                })
    }

    @Test func byteNoDataBecomesZero() throws {
        let dir = try TemporaryDirectory(), url = dir.file("nodata.tif")
        let values = (0..<count).map { Double($0 == 3 ? 255 : 100 + $0) }
        try RasterWriter.write(
            url, driver: "GTiff", width: width, height: height, type: GDT_Byte,
            bands: [.init(values: values, noData: 255)])
        let image = try ImageDecoder.decode(url)
        #expect(image[3, 0] == (0, 0, 0))
        #expect(image[4, 0] == (104, 104, 104))
    }

    @Test func bgrInterpretationIsReordered() throws {
        let dir = try TemporaryDirectory(), url = dir.file("bgrn.tif")
        let plane = { (v: Double) in [Double](repeating: v, count: self.count) }
        try RasterWriter.write(
            url, driver: "GTiff", width: width, height: height, type: GDT_Byte,
            bands: [
                .init(values: plane(30), interpretation: GCI_BlueBand),
                .init(values: plane(20), interpretation: GCI_GreenBand),
                .init(values: plane(10), interpretation: GCI_RedBand),
                .init(values: plane(99), interpretation: GCI_Undefined)
            ], options: ["PHOTOMETRIC=MINISBLACK"])
        #expect(try ImageDecoder.decode(url)[0, 0] == (10, 20, 30))
    }

    /// Expected stretch of `value` for a band whose valid values are `base + step * k`, k = 1…99.
    private func stretched(_ value: Double, base: Double, step: Double) -> Int {
        let low = base + step * 2.96, high = base + step * 97.04  // 2nd / 98th percentile, linear interpolation
        return Int(min(max(((value - low) * (255 / (high - low))).rounded(), 0), 255))
    }

    @Test func uint16GeoTIFFIsStretchedPerBand() throws {
        let dir = try TemporaryDirectory(), url = dir.file("uint16.tif")
        let (w, h) = (10, 10)
        let specs: [(base: Double, step: Double)] = [(1000, 10), (40, 3), (20000, 400)]
        let bands = specs.map { spec in
            RasterWriter.Band(
                values: (0..<(w * h)).map { $0 == 0 ? 65535 : spec.base + spec.step * Double($0) }, noData: 65535)
        }
        try RasterWriter.write(url, driver: "GTiff", width: w, height: h, type: GDT_UInt16, bands: bands, epsg: 32614)
        let image = try ImageDecoder.decode(url)
        #expect(image.width == w && image.height == h)
        #expect(image[0, 0] == (0, 0, 0))  // nodata
        for c in 0..<3 {
            let plane = channel(image, c)
            #expect(plane[1] == 0 && plane[2] == 0 && plane[3] == 0)  // below the 2nd percentile: clipped
            #expect(plane[98] == 255 && plane[99] == 255)  // above the 98th: clipped
            for k in 1..<(w * h) {
                let expected = stretched(
                    specs[c].base + specs[c].step * Double(k), base: specs[c].base, step: specs[c].step)
                #expect(abs(Int(plane[k]) - expected) <= 1, "band \(c + 1) pixel \(k): \(plane[k]) vs \(expected)")
            }
            #expect(plane[50] >= 127 && plane[50] <= 128)
        }
    }

    @Test func float32TIFFIsStretchedAndNaNIsZero() throws {
        let dir = try TemporaryDirectory(), url = dir.file("float.tif")
        let (w, h) = (10, 10)
        let values = (0..<(w * h)).map { k -> Double in k == 0 ? -9999 : k == 42 ? .nan : -0.5 + 0.01 * Double(k) }
        try RasterWriter.write(
            url, driver: "GTiff", width: w, height: h, type: GDT_Float32,
            bands: [.init(values: values, noData: -9999)])
        let image = try ImageDecoder.decode(url)
        #expect(image[0, 0] == (0, 0, 0) && image[2, 4] == (0, 0, 0))  // nodata and NaN
        let plane = channel(image, 0)
        #expect(plane == channel(image, 1) && plane == channel(image, 2))  // one band → gray
        #expect(plane[1] == 0 && plane[99] == 255)
        // With one NaN among k = 1…99, ranks shift past 42; check pixels well inside the range.
        for k in [20, 30, 60, 80] {
            #expect(plane[k] > plane[k - 10])
        }
        #expect(abs(Int(plane[51]) - 128) <= 2)
    }

    @Test func flatHighBitDepthBandIsZero() throws {
        let dir = try TemporaryDirectory(), url = dir.file("flat.tif")
        try RasterWriter.write(
            url, driver: "GTiff", width: width, height: height, type: GDT_Int16,
            bands: [.init(values: [Double](repeating: 1234, count: count))])
        #expect(try ImageDecoder.decode(url).pixels.allSatisfy { $0 == 0 })
    }
}
