import CGDAL
import Foundation
import Testing
@testable import SatSeekImaging

/// Decoding the real files in ../shared.
@Suite struct DecodeSharedFilesTests {
    @Test func aidMiniJPEGsDecodeTo150Square() throws {
        let files = try TestPaths.aidMiniJPEGs()
        #expect(files.count >= 30)
        for url in files.prefix(30) {
            let image = try ImageDecoder.decode(url)
            #expect(image.width == 150 && image.height == 150, "\(url.lastPathComponent)")
            #expect(image.pixels.count == 150 * 150 * 3)
            #expect(Set(image.pixels).count > 50, "\(url.lastPathComponent) looks flat")
        }
    }

    @Test("JPEG decode matches Pillow", arguments: ResizeGoldens.jpegs.indices)
    func jpegMatchesPillow(index: Int) throws {
        let golden = ResizeGoldens.jpegs[index]
        let image = try ImageDecoder.decode(TestPaths.sharedFile(golden.path))
        let means = (0..<3).map { c in Double(channel(image, c).reduce(0) { $0 + Int($1) }) / Double(150 * 150) }
        #expect(
            abs(means[0] - golden.mean.0) < 0.05 && abs(means[1] - golden.mean.1) < 0.05
                && abs(means[2] - golden.mean.2) < 0.05, "\(means) vs \(golden.mean)")
        var grid: [UInt8] = []
        for j in 0..<10 {
            for i in 0..<10 {
                let (r, g, b) = image[15 * i + 7, 15 * j + 7]
                grid += [r, g, b]
            }
        }
        #expect(maxDifference(grid, bytes(hex: golden.gridHex)) <= 1)
    }

    @Test func naipUsesRGBAndDropsNIR() throws {
        let image = try ImageDecoder.decode(TestPaths.naip)
        #expect(image.width == 934 && image.height == 724)
        for c in 0..<3 {
            // Byte data as is: each channel equals GDAL's band c+1 (nodata is 0, which stays 0).
            #expect(channel(image, c) == (try RasterWriter.readByteBand(TestPaths.naip, index: Int32(c + 1))))
        }
        #expect(channel(image, 2) != (try RasterWriter.readByteBand(TestPaths.naip, index: 4)))
    }

    @Test func naipMaxSideDownsamples() throws {
        let full = try ImageDecoder.decode(TestPaths.naip)
        let small = try ImageDecoder.decode(TestPaths.naip, maxSide: 256)
        #expect(small.width == 256 && small.height == 198)  // 724 × 256 / 934 = 198.4
        // Average resampling preserves each channel's mean brightness.
        for c in 0..<3 {
            let fullMean = Double(channel(full, c).reduce(0) { $0 + Int($1) }) / Double(full.width * full.height)
            let smallMean = Double(channel(small, c).reduce(0) { $0 + Int($1) }) / Double(small.width * small.height)
            #expect(abs(fullMean - smallMean) < 1.5, "channel \(c): \(fullMean) vs \(smallMean)")
        }
        // Each output pixel is close to the average of its ~3.65×3.66 source window.
        let sx = Double(full.width) / 256, sy = Double(full.height) / 198
        for (x, y) in [(10, 10), (100, 50), (200, 150), (128, 99)] {
            let x0 = Int(Double(x) * sx), x1 = Int(Double(x + 1) * sx), y0 = Int(Double(y) * sy),
                y1 = Int(Double(y + 1) * sy)
            var sum = 0
            for yy in y0..<y1 { for xx in x0..<x1 { sum += Int(full[xx, yy].0) } }
            let average = Double(sum) / Double((x1 - x0) * (y1 - y0))
            #expect(abs(Double(small[x, y].0) - average) < 12, "(\(x), \(y)): \(small[x, y].0) vs \(average)")
        }
        let tall = try ImageDecoder.decode(TestPaths.naip, maxSide: 100)
        #expect(tall.width == 100 && tall.height == 78)
        #expect(try ImageDecoder.decode(TestPaths.naip, maxSide: 5000) == full)
    }

    @Test func landsatUsesBandsOneToThree() throws {
        let image = try ImageDecoder.decode(TestPaths.landsat)
        #expect(image.width == 697 && image.height == 377)
        for c in 0..<3 {
            #expect(channel(image, c) == (try RasterWriter.readByteBand(TestPaths.landsat, index: Int32(c + 1))))
        }
        #expect(image.pixels.contains { $0 > 0 })
    }

    @Test func uploadsDecodeLikeFiles() throws {
        let url = try #require(try TestPaths.aidMiniJPEGs().first)
        let data = try Data(contentsOf: url)
        #expect(try ImageDecoder.decode(data: data, name: url.lastPathComponent) == ImageDecoder.decode(url))
        #expect(try ImageDecoder.decode(data: data, name: "no-extension") == ImageDecoder.decode(url))
        let small = try ImageDecoder.decode(data: data, name: "x.jpg", maxSide: 50)
        #expect(small.width == 50 && small.height == 50)
    }

    @Test func concurrentDecodesAgreeWithSequential() async throws {
        let files = Array(try TestPaths.aidMiniJPEGs().prefix(48)) + [TestPaths.naip, TestPaths.landsat]
        let sequential = try files.map { try ImageDecoder.decode($0, maxSide: 200) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, RGBImage).self) { group in
            for (i, url) in files.enumerated() {
                group.addTask { (i, try ImageDecoder.decode(url, maxSide: 200)) }
            }
            var results = [RGBImage?](repeating: nil, count: files.count)
            for try await (i, image) in group { results[i] = image }
            return results
        }
        for i in files.indices { #expect(concurrent[i] == sequential[i], "\(files[i].lastPathComponent)") }
    }
}
