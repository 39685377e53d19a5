import Foundation
import ZIPFoundation

/// A reader for single-member gzip files (RFC 1952), such as CLIP's `bpe_simple_vocab_16e6.txt.gz`.
///
/// The header is parsed here; the raw deflate stream is inflated by ZIPFoundation (zlib), and the
/// trailer's CRC-32 and length are checked.
public enum Gzip {
    /// Whether `data` starts with the gzip magic bytes.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// Decompresses a gzip file held in memory.
    /// - Parameter file: Names the source in error messages.
    public static func decompress(_ input: Data, file: URL) throws -> Data {
        let data = Data(input)  // zero-based indices
        func fail(_ reason: String) -> TokenizerError { .badGzip(file, reason: reason) }
        guard data.count >= 18 else { throw fail("only \(data.count) bytes (a gzip file has at least 18)") }
        guard isGzip(data) else { throw fail("missing the gzip magic bytes 1f 8b") }
        guard data[2] == 8 else { throw fail("compression method \(data[2]) is not deflate (8)") }
        let flags = data[3]
        guard flags & 0xE0 == 0 else { throw fail("reserved header flags are set") }
        var offset = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard offset + 2 <= data.count else { throw fail("truncated extra field") }
            offset += 2 + (Int(data[offset]) | Int(data[offset + 1]) << 8)
        }
        guard offset < data.count else { throw fail("truncated extra field") }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            guard let end = data[offset...].firstIndex(of: 0) else { throw fail("unterminated header string") }
            offset = end + 1
        }
        if flags & 0x02 != 0 { offset += 2 }  // FHCRC
        guard offset + 8 <= data.count else { throw fail("truncated header") }

        let trailer = data.count - 8
        func le32(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * UInt32($1)) }
        }
        let expectedCRC = le32(trailer)
        let expectedSize = le32(trailer + 4)

        let compressed = data[offset..<trailer]
        let bufferSize = 1 << 16
        var output = Data()
        output.reserveCapacity(Int(expectedSize))
        let crc: UInt32
        do {
            crc = try Data.decompress(
                size: Int64(compressed.count), bufferSize: bufferSize, skipCRC32: false,
                provider: { position, size in
                    // The inflater is told every chunk holds `size` bytes, so pad the last one with zeros; the
                    // deflate stream ends before the padding (a stream that does not is caught below).
                    let start = compressed.startIndex + Int(position)
                    guard start < data.count else {
                        throw TokenizerError.badGzip(file, reason: "truncated deflate stream")
                    }
                    var chunk = Data(data[start..<min(start + size, data.count)])
                    if chunk.count < size { chunk.append(Data(count: size - chunk.count)) }
                    return chunk
                }, consumer: { output.append($0) })
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw fail("corrupt deflate stream (\(error))")
        }
        guard UInt32(truncatingIfNeeded: output.count) == expectedSize else {
            throw fail("inflated \(output.count) bytes, the trailer says \(expectedSize)")
        }
        guard crc == expectedCRC else { throw fail("CRC-32 mismatch (data is corrupt)") }
        return output
    }

    /// Reads a file, decompressing it when it is gzip (by content, not by name).
    public static func readPossiblyCompressed(_ url: URL) throws -> Data {
        guard let data = try? Data(contentsOf: url) else { throw TokenizerError.missingFile(url) }
        return isGzip(data) ? try decompress(data, file: url) : data
    }
}
