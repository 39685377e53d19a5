import CGDAL
import Foundation
import Testing
@testable import SatSeekImaging

/// Each failure is an ``ImageError`` naming the file, with the documented reason.
@Suite struct DecodeErrorTests {
    private func decodeError(_ url: URL) -> ImageError? {
        #expect(throws: ImageError.self) { try ImageDecoder.decode(url) }
        do {
            _ = try ImageDecoder.decode(url)
        } catch let error as ImageError {
            return error
        } catch {}
        return nil
    }

    @Test func truncatedJPEGIsAnError() throws {
        let dir = try TemporaryDirectory()
        let source = try #require(try TestPaths.aidMiniJPEGs().first)
        let data = try Data(contentsOf: source)
        let url = dir.file("truncated.jpg")
        try data.prefix(data.count / 2).write(to: url)
        let failure = try #require(decodeError(url))
        #expect(failure.path == url.path)
        #expect(failure.reason.hasPrefix("truncated or corrupt image data (GDAL: "), "\(failure)")
        #expect(failure.reason == "truncated or corrupt image data (GDAL: libjpeg: Premature end of JPEG file)")
        #expect(failure.description == "\(url.path): \(failure.reason)")
        // Same for an upload.
        #expect(throws: ImageError.self) { try ImageDecoder.decode(data: data.prefix(data.count / 2), name: "t.jpg") }
    }

    @Test func libjpegWarningsThatLoseDataAreErrors() {
        func warning(_ text: String) -> GDALMessage { GDALMessage(level: CE_Warning, number: 1, text: text) }
        #expect(ImageDecoder.indicatesDataLoss(warning("libjpeg: Premature end of JPEG file")))
        #expect(ImageDecoder.indicatesDataLoss(warning("libjpeg: Corrupt JPEG data: premature end of data segment")))
        #expect(ImageDecoder.indicatesDataLoss(GDALMessage(level: CE_Failure, number: 1, text: "IReadBlock failed")))
        #expect(
            !ImageDecoder.indicatesDataLoss(
                warning("libjpeg: Corrupt JPEG data: 2 extraneous bytes before marker 0xd9")))
        #expect(!ImageDecoder.indicatesDataLoss(warning("TIFFReadDirectory: Unknown field with tag 42112")))
    }

    @Test func truncatedPNGIsAnError() throws {
        let dir = try TemporaryDirectory()
        let full = dir.file("full.png")
        let values = (0..<(64 * 64)).map { Double(($0 * 7919) % 256) }
        try RasterWriter.write(
            full, driver: "PNG", width: 64, height: 64, type: GDT_Byte, bands: [.init(values: values)])
        let data = try Data(contentsOf: full)
        let url = dir.file("truncated.png")
        try data.prefix(data.count * 2 / 3).write(to: url)
        let failure = try #require(decodeError(url))
        #expect(failure.path == url.path && failure.reason.hasPrefix("truncated or corrupt image data"), "\(failure)")
    }

    @Test func textFileNamedTifIsNotAnImage() throws {
        let dir = try TemporaryDirectory(), url = dir.file("notes.tif")
        try Data("these are not pixels\n".utf8).write(to: url)
        let failure = try #require(decodeError(url))
        #expect(failure == ImageError(path: url.path, reason: "not a recognised image format"))
        #expect(throws: ImageError(path: "notes.tif", reason: "not a recognised image format")) {
            try ImageDecoder.decode(data: Data("these are not pixels\n".utf8), name: "notes.tif")
        }
    }

    @Test func uploadsRefuseFormatsThatReferenceOtherFiles() throws {
        let vrt = """
            <VRTDataset rasterXSize="2" rasterYSize="2"><VRTRasterBand dataType="Byte" band="1">
            <SimpleSource><SourceFilename>\(TestPaths.naip.path)</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
            </VRTRasterBand></VRTDataset>
            """
        #expect(throws: ImageError(path: "x.vrt", reason: "not a recognised image format")) {
            try ImageDecoder.decode(data: Data(vrt.utf8), name: "x.vrt")
        }
        // The same file on disk is the user's own choice and decodes.
        let dir = try TemporaryDirectory(), url = dir.file("x.vrt")
        try Data(vrt.utf8).write(to: url)
        #expect(try ImageDecoder.decode(url).width == 2)
    }

    @Test func emptyFileIsAnError() throws {
        let dir = try TemporaryDirectory(), url = dir.file("empty.jpg")
        try Data().write(to: url)
        #expect(decodeError(url) == ImageError(path: url.path, reason: "empty file (0 bytes)"))
        #expect(throws: ImageError(path: "empty.png", reason: "empty file (0 bytes)")) {
            try ImageDecoder.decode(data: Data(), name: "empty.png")
        }
    }

    @Test func missingFileIsAnError() throws {
        let dir = try TemporaryDirectory(), url = dir.file("missing.png")
        #expect(decodeError(url) == ImageError(path: url.path, reason: "file does not exist"))
        #expect(decodeError(url)?.description == "\(url.path): file does not exist")
    }

    @Test func directoryIsAnError() throws {
        let dir = try TemporaryDirectory()
        #expect(decodeError(dir.url)?.reason == "is a directory, not an image file")
    }

    @Test func badMaxSideIsAnError() throws {
        let url = try #require(try TestPaths.aidMiniJPEGs().first)
        #expect(throws: ImageError.self) { try ImageDecoder.decode(url, maxSide: 0) }
    }

    @Test func validFileStillDecodesAfterErrors() throws {
        let url = try #require(try TestPaths.aidMiniJPEGs().first)
        let dir = try TemporaryDirectory(), bad = dir.file("bad.jpg")
        try Data(contentsOf: url).prefix(3000).write(to: bad)
        _ = decodeError(bad)
        #expect(try ImageDecoder.decode(url).width == 150)
    }
}
