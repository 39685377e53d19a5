import Foundation
import Testing
import SatSeekTestSupport
@testable import SatSeekImaging

/// A small file declaring a huge raster is refused from its header, before any pixel is read.
@Suite struct DecompressionBombTests {
    @Test func uploadDeclaringSixtyThousandSquaredIsRefusedAtOnce() throws {
        let bomb = bombPNG(width: 60_000, height: 60_000)
        #expect(bomb.count < 100)
        let started = Date()
        #expect {
            _ = try ImageDecoder.decode(data: bomb, name: "bomb.png", maxSide: 2048)
        } throws: { error in
            "\(error)".contains("bomb.png") && "\(error)".contains("60000×60000") && "\(error)".contains("limit")
        }
        #expect(Date().timeIntervalSince(started) < 1, "refused from the header, not after decoding")
        // The same file on disk is refused by the (larger) file limit too.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "satseek-bomb-\(UUID().uuidString).png")
        try bomb.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(throws: ImageError.self) { _ = try ImageDecoder.decode(file, maxSide: 2048) }
    }

    @Test func ordinaryImagesStayWithinTheLimits() throws {
        // A header of 4000×3000 (12 MP) is under both limits: it is opened and fails only on its missing pixels.
        let small = bombPNG(width: 4000, height: 3000)
        #expect {
            _ = try ImageDecoder.decode(data: small, name: "small.png", maxSide: 2048)
        } throws: { error in !"\(error)".contains("limit") }
    }
}
