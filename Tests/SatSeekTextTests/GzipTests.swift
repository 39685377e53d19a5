import Foundation
import Testing
import SatSeekText
import SatSeekTestSupport

@Suite struct GzipTests {
    /// `gzip.compress(b"tiny gzip payload\n", mtime=0)` from Python: no optional header fields.
    static let knownBytes: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xc9, 0xcc, 0xab, 0x54, 0x48, 0xaf, 0xca,
        0x2c,
        0x50, 0x28, 0x48, 0xac, 0xcc, 0xc9, 0x4f, 0x4c, 0xe1, 0x02, 0x00, 0x89, 0x9a, 0xb7, 0xcb, 0x12, 0x00, 0x00, 0x00
    ]
    static let file = URL(fileURLWithPath: "/virtual/test.gz")

    @Test func decompressesKnownBytes() throws {
        let data = try Gzip.decompress(Data(Self.knownBytes), file: Self.file)
        #expect(String(decoding: data, as: UTF8.self) == "tiny gzip payload\n")
    }

    @Test func decompressesWhatGzipWrites() async throws {
        let gzip = URL(fileURLWithPath: "/usr/bin/gzip")
        guard FileManager.default.isExecutableFile(atPath: gzip.path) else { return }
        let folder = try temporaryFolder("gzip")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Larger than one inflate buffer, and named, so the header carries FNAME.
        let text = (0..<20_000).map { "line \($0) of the merges-like text\n" }.joined()
        let source = folder.appendingPathComponent("named-source.txt")
        try Data(text.utf8).write(to: source)
        let run = try await runChild(gzip.path, ["-k", "-9", source.path])
        #expect(run.status == 0, "\(run.stderr)")
        let compressed = folder.appendingPathComponent("named-source.txt.gz")
        let data = try Gzip.readPossiblyCompressed(compressed)
        #expect(String(decoding: data, as: UTF8.self) == text)
        // An uncompressed file is returned as it is.
        #expect(try Gzip.readPossiblyCompressed(source) == Data(text.utf8))
    }

    @Test func rejectsCorruptInputNamingTheFile() throws {
        var corrupt = Self.knownBytes
        corrupt[corrupt.count - 8] ^= 0xFF  // CRC
        #expect(throws: TokenizerError.self) { try Gzip.decompress(Data(corrupt), file: Self.file) }
        do {
            _ = try Gzip.decompress(Data(corrupt), file: Self.file)
        } catch {
            #expect("\(error)".contains("/virtual/test.gz"))
            #expect("\(error)".contains("CRC"))
        }
        let truncated = Data(Self.knownBytes.prefix(20))
        #expect(throws: TokenizerError.self) { try Gzip.decompress(truncated, file: Self.file) }
        var wrongMethod = Self.knownBytes
        wrongMethod[2] = 7
        #expect(throws: TokenizerError.self) { try Gzip.decompress(Data(wrongMethod), file: Self.file) }
    }

    @Test func missingFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent/bpe_simple_vocab_16e6.txt.gz")
        #expect(throws: TokenizerError.missingFile(url)) { try Gzip.readPossiblyCompressed(url) }
        #expect(TokenizerError.missingFile(url).description.contains(url.path))
    }
}
