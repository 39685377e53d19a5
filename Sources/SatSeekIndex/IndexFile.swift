import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which index structure a file holds.
public enum IndexKind: UInt8, Sendable, CustomStringConvertible {
    /// ``FlatIndex`` (exact search over float32/float16/int8 rows).
    case flat = 1
    /// ``HNSWIndex`` (graph-based approximate search).
    case hnsw = 2
    /// ``BinaryIndex`` (Hamming search over bit codes).
    case binary = 3

    public var description: String {
        switch self {
        case .flat: "flat";
        case .hnsw: "hnsw";
        case .binary: "binary"
        }
    }
}

/// Fixed header fields of an index file.
///
/// File layout (version 1, all integers little-endian):
/// ```
/// 0    magic "SATSKIDX"            8 bytes
/// 8    format version (UInt32)     = 1
/// 12   header size (UInt32)        = 256
/// 16   kind, metric, storage, flags (UInt8 each)
/// 20   dimensions or code bits (UInt32)
/// 24   count (UInt64)
/// 32   payload length (UInt64)     bytes after the header
/// 40   payload xxHash64 (UInt64)
/// 48   section count (UInt16), model id length (UInt16), reserved (UInt32)
/// 56   header xxHash64 (UInt64)    over the 256 header bytes with this field zeroed
/// 64   model id (UTF-8, ≤ 192 bytes, zero padded)
/// 256  payload: section table (32 bytes per section: tag, reserved, offset, length, reserved),
///      then each section's bytes at a 64-byte aligned file offset
/// ```
/// Metric codes: 0 cosine, 1 inner product, 2 L2, 3 Hamming. Storage codes: 0 float32,
/// 1 float16, 2 int8, 3 bits.
public struct IndexFileHeader: Sendable, Equatable {
    static let magic: [UInt8] = Array("SATSKIDX".utf8)
    /// The only format version this build reads and writes.
    public static let formatVersion: UInt32 = 1
    static let size = 256
    static let maxModelIDBytes = 192

    public var kind: IndexKind
    public var metricCode: UInt8
    public var storageCode: UInt8
    public var dimensions: Int
    public var count: Int
    public var modelID: String
    /// Version of the data the index was built from (e.g. a catalog's embedding revision), so a reader can
    /// tell a stale file from a current one; stored as an 8-byte section covered by the payload checksum.
    public var sourceRevision: UInt64? = nil
    /// Identity of the data source the index was built from (e.g. the catalog's id, created with it), so a
    /// file left beside a *new* source at the same path is not taken for current; a 16-byte section.
    public var sourceIdentity: UUID? = nil

    /// Section tag of ``sourceRevision`` ("REVS"), shared by every index kind.
    static let sourceRevisionTag: UInt32 = 0x5356_4552
    /// Section tag of ``sourceIdentity`` ("IDNT").
    static let sourceIdentityTag: UInt32 = 0x544E_4449

    /// Reads and checks the header of an index file of `kind` without hashing the payload (cheap even for
    /// huge files); ``sourceRevision`` is read from its section when present.
    /// - Throws: ``IndexFileError`` naming the file and the reason.
    public static func read(path: String, kind: IndexKind) throws -> IndexFileHeader {
        try MappedIndexFile(path: path, kind: kind, expectedModelID: nil, verifyChecksum: false).header
    }
}

/// Stable on-disk codes for metrics (``Metric`` raw values are strings).
extension Metric {
    var fileCode: UInt8 {
        switch self {
        case .cosine: 0;
        case .innerProduct: 1;
        case .l2: 2
        }
    }

    init?(fileCode: UInt8) {
        switch fileCode {
        case 0: self = .cosine;
        case 1: self = .innerProduct;
        case 2: self = .l2;
        default: return nil
        }
    }
}

/// One named block of bytes in an index file.
struct IndexFileSection {
    let tag: UInt32
    let length: Int
    /// Calls its argument with the section bytes, in one or several pieces totalling `length`.
    let emit: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    /// A section holding an array's raw bytes.
    static func array<T: BitwiseCopyable>(_ tag: UInt32, _ values: [T]) -> IndexFileSection {
        IndexFileSection(tag: tag, length: values.count * MemoryLayout<T>.stride) { write in
            try values.withUnsafeBytes { try write($0) }
        }
    }

    /// A section holding raw bytes that stay valid while writing.
    static func raw(_ tag: UInt32, _ bytes: UnsafeRawBufferPointer) -> IndexFileSection {
        IndexFileSection(tag: tag, length: bytes.count) { write in try write(bytes) }
    }
}

@inline(__always)
func alignUp(_ value: Int, _ alignment: Int) -> Int { (value + alignment - 1) / alignment * alignment }

private func errnoText() -> String { String(cString: strerror(errno)) }

/// Writes an index file atomically: the bytes go to a temporary file in the same
/// folder, which is fsync'ed and renamed over `path`, and the folder is fsync'ed.
/// A failure at any point removes the temporary file and leaves any previous file
/// at `path` as it was. `abandonAfterPayloadBytes` simulates a crash mid-write (tests).
func writeIndexFile(
    to path: String, header: IndexFileHeader, sections: [IndexFileSection],
    abandonAfterPayloadBytes: Int? = nil
) throws {
    let modelBytes = Array(header.modelID.utf8)
    guard modelBytes.count <= IndexFileHeader.maxModelIDBytes else {
        throw IndexFileError.writeFailed(
            path: path, reason: "model id longer than \(IndexFileHeader.maxModelIDBytes) bytes")
    }
    var sections = sections
    if let revision = header.sourceRevision {
        sections.append(.array(IndexFileHeader.sourceRevisionTag, [revision.littleEndian]))
    }
    if let identity = header.sourceIdentity {
        let bytes = withUnsafeBytes(of: identity.uuid) { Array($0) }
        sections.append(.array(IndexFileHeader.sourceIdentityTag, bytes))
    }
    // Section layout.
    let tableBytes = sections.count * 32
    var offsets: [Int] = []
    var cursor = alignUp(IndexFileHeader.size + tableBytes, 64)
    for section in sections {
        offsets.append(cursor)
        cursor = alignUp(cursor + section.length, 64)
    }
    let fileLength = cursor
    var table = [UInt8](repeating: 0, count: tableBytes)
    for (i, section) in sections.enumerated() {
        table.withUnsafeMutableBytes { t in
            t.storeBytes(of: section.tag.littleEndian, toByteOffset: i * 32, as: UInt32.self)
            t.storeBytes(of: UInt64(offsets[i]).littleEndian, toByteOffset: i * 32 + 8, as: UInt64.self)
            t.storeBytes(of: UInt64(section.length).littleEndian, toByteOffset: i * 32 + 16, as: UInt64.self)
        }
    }

    let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    let tempPath =
        (folder.isEmpty ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw IndexFileError.writeFailed(path: path, reason: "create \(tempPath): \(errnoText())") }
    var closed = false
    do {
        defer { if !closed { close(fd) } }
        var hasher = XXHash64()
        var position = IndexFileHeader.size
        var payloadWritten = 0
        let zeros = [UInt8](repeating: 0, count: 64)

        func put(_ bytes: UnsafeRawBufferPointer) throws {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            hasher.update(bytes)
            var done = 0
            while done < bytes.count {
                if let limit = abandonAfterPayloadBytes, payloadWritten + (bytes.count - done) > limit {
                    throw IndexFileError.writeFailed(path: path, reason: "write abandoned (test)")
                }
                let chunk = min(bytes.count - done, 1 << 30)
                let n = pwrite(fd, base + done, chunk, off_t(position))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IndexFileError.writeFailed(path: path, reason: errnoText())
                }
                done += n
                position += n
                payloadWritten += n
            }
        }
        func pad(to target: Int) throws {
            while position < target {
                try zeros.withUnsafeBytes {
                    try put(UnsafeRawBufferPointer(rebasing: $0[0..<min(64, target - position)]))
                }
            }
        }

        try table.withUnsafeBytes { try put($0) }
        for (i, section) in sections.enumerated() {
            try pad(to: offsets[i])
            let start = position
            try section.emit(put)
            guard position - start == section.length else {
                throw IndexFileError.writeFailed(
                    path: path, reason: "section \(section.tag) wrote \(position - start) of \(section.length) bytes")
            }
        }
        try pad(to: fileLength)

        var headerBytes = [UInt8](repeating: 0, count: IndexFileHeader.size)
        headerBytes.withUnsafeMutableBytes { h in
            for (i, byte) in IndexFileHeader.magic.enumerated() { h[i] = byte }
            h.storeBytes(of: IndexFileHeader.formatVersion.littleEndian, toByteOffset: 8, as: UInt32.self)
            h.storeBytes(of: UInt32(IndexFileHeader.size).littleEndian, toByteOffset: 12, as: UInt32.self)
            h[16] = header.kind.rawValue
            h[17] = header.metricCode
            h[18] = header.storageCode
            h.storeBytes(of: UInt32(header.dimensions).littleEndian, toByteOffset: 20, as: UInt32.self)
            h.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 24, as: UInt64.self)
            h.storeBytes(of: UInt64(fileLength - IndexFileHeader.size).littleEndian, toByteOffset: 32, as: UInt64.self)
            h.storeBytes(of: hasher.digest().littleEndian, toByteOffset: 40, as: UInt64.self)
            h.storeBytes(of: UInt16(sections.count).littleEndian, toByteOffset: 48, as: UInt16.self)
            h.storeBytes(of: UInt16(modelBytes.count).littleEndian, toByteOffset: 50, as: UInt16.self)
            for (i, byte) in modelBytes.enumerated() { h[64 + i] = byte }
            let headerHash = XXHash64.hash(UnsafeRawBufferPointer(h))
            h.storeBytes(of: headerHash.littleEndian, toByteOffset: 56, as: UInt64.self)
        }
        let written = headerBytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, IndexFileHeader.size, 0) }
        guard written == IndexFileHeader.size else {
            throw IndexFileError.writeFailed(path: path, reason: "header: \(errnoText())")
        }
        guard fsync(fd) == 0 else { throw IndexFileError.writeFailed(path: path, reason: "fsync: \(errnoText())") }
        closed = true
        guard close(fd) == 0 else { throw IndexFileError.writeFailed(path: path, reason: "close: \(errnoText())") }
        guard rename(tempPath, path) == 0 else {
            throw IndexFileError.writeFailed(path: path, reason: "rename: \(errnoText())")
        }
    } catch {
        unlink(tempPath)
        throw error
    }
    // Make the rename durable.
    let folderFD = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderFD >= 0 {
        fsync(folderFD)
        close(folderFD)
    }
}

/// A read-only memory mapping of a verified index file. Searches run straight
/// out of the mapping; it is unmapped when the last index using it goes away.
final class MappedIndexFile: @unchecked Sendable {
    /// The UUID stored in the 16 bytes at `pointer`.
    static func uuid(at pointer: UnsafeRawPointer) -> UUID {
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: 16)) }
        return UUID(uuid: value)
    }

    let path: String
    let header: IndexFileHeader
    let base: UnsafeRawPointer
    let length: Int
    private let sections: [UInt32: (offset: Int, length: Int)]

    /// Maps and validates `path`: magic, version, header checksum, length, section
    /// table, kind, model id and (unless `verifyChecksum` is false) the payload checksum.
    init(path: String, kind: IndexKind, expectedModelID: String?, verifyChecksum: Bool) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexFileError.unreadable(path: path, reason: errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw IndexFileError.unreadable(path: path, reason: errnoText()) }
        let size = Int(info.st_size)
        guard size >= IndexFileHeader.size else {
            if size >= 8 {
                var magic = [UInt8](repeating: 0, count: 8)
                _ = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 8, 0) }
                if magic != IndexFileHeader.magic { throw IndexFileError.notAnIndexFile(path: path) }
            }
            throw IndexFileError.truncated(path: path, expectedBytes: IndexFileHeader.size, actualBytes: size)
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapping != MAP_FAILED else {
            throw IndexFileError.unreadable(path: path, reason: "mmap: \(errnoText())")
        }
        base = UnsafeRawPointer(mapping)
        length = size
        do {
            let h = UnsafeRawBufferPointer(start: base, count: IndexFileHeader.size)
            guard Array(h[0..<8]) == IndexFileHeader.magic else { throw IndexFileError.notAnIndexFile(path: path) }
            let version = UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            guard version == IndexFileHeader.formatVersion else {
                throw IndexFileError.unsupportedVersion(
                    path: path, found: version, supported: IndexFileHeader.formatVersion)
            }
            var copy = Array(h)
            copy.withUnsafeMutableBytes { $0.storeBytes(of: 0, toByteOffset: 56, as: UInt64.self) }
            let storedHeaderHash = UInt64(littleEndian: h.loadUnaligned(fromByteOffset: 56, as: UInt64.self))
            guard copy.withUnsafeBytes({ XXHash64.hash($0) }) == storedHeaderHash else {
                throw IndexFileError.checksumMismatch(path: path, part: "header")
            }
            let payloadLength = UInt64(littleEndian: h.loadUnaligned(fromByteOffset: 32, as: UInt64.self)).clampedInt
            guard payloadLength <= size - IndexFileHeader.size else {
                throw IndexFileError.truncated(
                    path: path, expectedBytes: IndexFileHeader.size &+ payloadLength, actualBytes: size)
            }
            guard let foundKind = IndexKind(rawValue: h[16]), foundKind == kind else {
                throw IndexFileError.wrongKind(path: path, expected: kind, found: h[16])
            }
            let modelLength = Int(UInt16(littleEndian: h.loadUnaligned(fromByteOffset: 50, as: UInt16.self)))
            guard modelLength <= IndexFileHeader.maxModelIDBytes else {
                throw IndexFileError.corrupt(path: path, reason: "model id length")
            }
            let modelID = String(decoding: h[64..<(64 + modelLength)], as: UTF8.self)
            if let expected = expectedModelID, expected != modelID {
                throw IndexFileError.wrongModel(path: path, expected: expected, found: modelID)
            }
            var header = IndexFileHeader(
                kind: foundKind, metricCode: h[17], storageCode: h[18],
                dimensions: Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 20, as: UInt32.self))),
                count: UInt64(littleEndian: h.loadUnaligned(fromByteOffset: 24, as: UInt64.self)).clampedInt,
                modelID: modelID)
            if verifyChecksum {
                let payload = UnsafeRawBufferPointer(start: base + IndexFileHeader.size, count: payloadLength)
                let stored = UInt64(littleEndian: h.loadUnaligned(fromByteOffset: 40, as: UInt64.self))
                guard XXHash64.hash(payload) == stored else {
                    throw IndexFileError.checksumMismatch(path: path, part: "payload")
                }
            }
            let sectionCount = Int(UInt16(littleEndian: h.loadUnaligned(fromByteOffset: 48, as: UInt16.self)))
            guard IndexFileHeader.size + sectionCount * 32 <= size else {
                throw IndexFileError.corrupt(path: path, reason: "section table past end of file")
            }
            var table: [UInt32: (offset: Int, length: Int)] = [:]
            for i in 0..<sectionCount {
                let entry = base + IndexFileHeader.size + i * 32
                let tag = UInt32(littleEndian: entry.loadUnaligned(as: UInt32.self))
                let offset = UInt64(littleEndian: entry.loadUnaligned(fromByteOffset: 8, as: UInt64.self)).clampedInt
                let count = UInt64(littleEndian: entry.loadUnaligned(fromByteOffset: 16, as: UInt64.self)).clampedInt
                guard offset % 64 == 0, offset >= IndexFileHeader.size, offset <= size, count <= size - offset else {
                    throw IndexFileError.corrupt(path: path, reason: "section \(tag) out of bounds")
                }
                table[tag] = (offset, count)
            }
            if let revision = table[IndexFileHeader.sourceRevisionTag] {
                guard revision.length == 8 else {
                    throw IndexFileError.corrupt(path: path, reason: "source revision section")
                }
                header.sourceRevision = UInt64(littleEndian: (base + revision.offset).loadUnaligned(as: UInt64.self))
            }
            if let identity = table[IndexFileHeader.sourceIdentityTag] {
                guard identity.length == 16 else {
                    throw IndexFileError.corrupt(path: path, reason: "source identity section")
                }
                header.sourceIdentity = Self.uuid(at: base + identity.offset)
            }
            self.header = header
            sections = table
        } catch {
            munmap(mapping, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

    /// The bytes of a section, checked to hold exactly `count` values of `T`.
    func section<T>(_ tag: UInt32, as type: T.Type, count: Int) throws -> UnsafePointer<T> {
        guard let entry = sections[tag] else {
            throw IndexFileError.corrupt(path: path, reason: "missing section \(tag)")
        }
        let expected = try product(count, MemoryLayout<T>.stride)
        guard entry.length == expected else {
            throw IndexFileError.corrupt(
                path: path, reason: "section \(tag) holds \(entry.length) bytes, expected \(expected)")
        }
        return (base + entry.offset).assumingMemoryBound(to: T.self)
    }

    /// The product of sizes read from the header, refused when one is negative or the product does not fit an
    /// `Int` (this module is compiled without overflow checks, so a wrapped product would size a section wrongly).
    func product(_ factors: Int...) throws -> Int {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard factor >= 0, !overflow else {
                throw IndexFileError.corrupt(
                    path: path, reason: "impossible sizes \(factors.map(String.init).joined(separator: " × "))")
            }
            result = next
        }
        return result
    }

    /// A section copied into an array.
    func array<T>(_ tag: UInt32, as type: T.Type, count: Int) throws -> [T] {
        let pointer = try section(tag, as: type, count: count)
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Tells the kernel the mapping will be read (prefetch), e.g. before the first search.
    func adviseWillNeed() {
        madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_WILLNEED)
    }
}

extension UInt64 {
    /// The value as an `Int`, `Int.max` when it does not fit: sizes read from a file then fail their bounds
    /// checks instead of trapping in the conversion (or wrapping where checks are compiled out).
    var clampedInt: Int { self > UInt64(Int.max) ? Int.max : Int(self) }
}
