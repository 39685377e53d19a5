import Foundation
import Testing
import SatSeekCheckpoint
import ZIPFoundation

/// Checkpoints built to make a reader trap, recurse or allocate what the file does not hold. Each one
/// must be refused with a `CheckpointError` that names the file, quickly and without a crash.
@Suite("Crafted checkpoints are refused, never trap")
struct CraftedCheckpointTests {
    // MARK: safetensors

    @Test("a safetensors shape whose byte count overflows is refused")
    func safetensorsShapeOverflow() throws {
        // 2^61 float32 elements are 2^63 bytes: one more than Int.max.
        let url = try write(
            safetensors(#"{"t":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,0]}}"#),
            as: "overflow.safetensors")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.hasPrefix(url.path) && message.contains("impossible shape"), "\(message)")

        let product = try write(
            safetensors(#"{"t":{"dtype":"F16","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#),
            as: "product.safetensors", padding: 8)
        defer { remove(product) }
        let second = try #require(loadError(product))
        #expect(second.contains("impossible shape"), "\(second)")
    }

    @Test("a header length near 2^64 is not taken for safetensors and does not trap")
    func safetensorsHugeHeaderLength() throws {
        var bytes = [UInt8](repeating: 0xff, count: 8)
        bytes += Array("{}".utf8)
        let url = try write(bytes, as: "header.safetensors")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.hasPrefix(url.path), "\(message)")
    }

    // MARK: pickle

    @Test("50 000 nested tuples are read and released without recursion")
    func deeplyNestedTuples() throws {
        // NONE, then TUPLE1 50 000 times: ((((None,),),),…).
        let main = [0x80, 0x02, 0x4e] + [UInt8](repeating: 0x85, count: 50_000) + [0x2e]
        let url = try write(PickleTests.legacyPreamble + main + PickleTests.emptyKeyList, as: "deep.pth")
        defer { remove(url) }
        #expect(try Checkpoint.load(url).tensors.isEmpty)
    }

    @Test("a 100 000-long chain of lists built through the memo is released without recursion")
    func listChainThroughMemo() throws {
        // L0 = []; for i in 1..<n: Li = []; L(i-1).append(Li) — each list reached again by LONG_BINGET.
        var main: [UInt8] = [0x80, 0x02, 0x5d, 0x94]  // EMPTY_LIST, MEMOIZE (0)
        for i in 1..<100_000 {
            main += [0x5d, 0x94, 0x61, 0x30, 0x6a] + littleEndian32(i)  // EMPTY_LIST MEMOIZE APPEND POP LONG_BINGET i
        }
        main += [0x30, 0x6a] + littleEndian32(0) + [0x2e]  // POP, LONG_BINGET 0, STOP
        let url = try write(PickleTests.legacyPreamble + main + PickleTests.emptyKeyList, as: "chain.pth")
        defer { remove(url) }
        #expect(try Checkpoint.load(url).tensors.isEmpty)
    }

    @Test("a list holding itself twice, 64 levels deep, stops at the visit budget")
    func selfReferencingList() throws {
        // L = []; L.append(L); L.append(L): 2^64 paths through 7 bytes.
        let main: [UInt8] = [0x80, 0x02, 0x5d, 0x94, 0x68, 0x00, 0x61, 0x68, 0x00, 0x61, 0x2e]
        let url = try write(PickleTests.legacyPreamble + main + PickleTests.emptyKeyList, as: "cycle.pth")
        defer { remove(url) }
        let clock = ContinuousClock()
        let started = clock.now
        let message = try #require(loadError(url))
        #expect(message.contains("shared containers"), "\(message)")
        #expect(clock.now - started < .seconds(30))
    }

    @Test("a stream of DUPs cannot grow the stack without bound")
    func duplicateFlood() throws {
        let main = [0x80, 0x02, 0x4e] + [UInt8](repeating: 0x32, count: (1 << 20) + 10) + [0x2e]
        let url = try write(PickleTests.legacyPreamble + main + PickleTests.emptyKeyList, as: "dup.pth")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.contains("values on the stack"), "\(message)")
    }

    @Test("a zero-stride tensor of 10^10 elements over one stored float is refused before allocating")
    func zeroStrides() throws {
        let url = try write(
            PickleTests.legacyPreamble + Self.tensorPickle(shape: [100_000, 100_000], strides: [0, 0])
                + Self.storageKeys + Self.oneFloatStorage, as: "stride0.pth")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.contains("repeated (zero or overlapping) strides"), "\(message)")

        // The same file with an honest [1] shape loads.
        let honest = try write(
            PickleTests.legacyPreamble + Self.tensorPickle(shape: [1], strides: [1])
                + Self.storageKeys + Self.oneFloatStorage, as: "honest.pth")
        defer { remove(honest) }
        #expect(try Checkpoint.load(honest).floats("w", shape: [1]) == [1.5])
    }

    // MARK: zip

    @Test("a deflated entry that inflates past its declared size is stopped there")
    func zipInflatesPastDeclaredSize() throws {
        let url = try zipBomb(inflated: 16 << 20, declared: { _ in 1000 }, name: "bomb.pth")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.contains("inflates to more than the 1000 bytes it declares"), "\(message)")
    }

    @Test("a deflated entry declaring more than deflate can produce is refused before inflating")
    func zipDeclaresTooMuch() throws {
        let url = try zipBomb(inflated: 1 << 20, declared: { compressed in compressed * 2000 }, name: "liar.pth")
        defer { remove(url) }
        let message = try #require(loadError(url))
        #expect(message.contains("refusing to inflate"), "\(message)")
    }

    @Test("a ZIP64 offset of 2^63 is refused before ZIPFoundation converts it (found by FuzzCheckpoint)")
    func zip64OffsetBeyondInt64() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("zip64.pth")
        defer { remove(url) }
        let archive = try Archive(url: url, accessMode: .create)
        let pickle = Data(PickleTests.legacyPreamble.suffix(4))  // any bytes: the directory is refused first
        try archive.addEntry(
            with: "archive/data.pkl", type: .file, uncompressedSize: Int64(pickle.count),
            compressionMethod: .none
        ) { position, size in
            pickle.subdata(in: Int(position)..<Int(position) + size)
        }
        var bytes = [UInt8](try Data(contentsOf: url))
        // Central entry: local-header offset 0xFFFFFFFF, and a ZIP64 extra field holding 2^63.
        let central = try #require(
            (0...(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == [0x50, 0x4b, 0x01, 0x02] })
        let nameLength = Int(bytes[central + 28]) | Int(bytes[central + 29]) << 8
        let oldExtra = Int(bytes[central + 30]) | Int(bytes[central + 31]) << 8
        bytes.replaceSubrange((central + 42)..<(central + 46), with: [0xff, 0xff, 0xff, 0xff])
        bytes.replaceSubrange((central + 30)..<(central + 32), with: [UInt8(oldExtra + 12), 0])
        bytes.insert(contentsOf: [0x01, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x80], at: central + 46 + nameLength)
        let end = try #require((0...(bytes.count - 4)).last { Array(bytes[$0..<$0 + 4]) == [0x50, 0x4b, 0x05, 0x06] })
        let directorySize = Int(bytes[end + 12]) | Int(bytes[end + 13]) << 8
        bytes.replaceSubrange(
            (end + 12)..<(end + 14), with: [UInt8((directorySize + 12) & 0xff), UInt8((directorySize + 12) >> 8)])
        try Data(bytes).write(to: url)
        let message = try #require(loadError(url))
        #expect(message.contains("ZIP64 size or offset of 9223372036854775808"), "\(message)")
    }

    // MARK: Building the files

    /// `{'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 1), 0, shape, strides, False, OrderedDict())}`
    /// as a protocol-2 pickle.
    static func tensorPickle(shape: [Int], strides: [Int]) -> [UInt8] {
        func unicode(_ text: String) -> [UInt8] { [0x58] + littleEndian32(text.utf8.count) + Array(text.utf8) }
        func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
        func intTuple(_ values: [Int]) -> [UInt8] {
            [0x28] + values.flatMap { [0x4a] + littleEndian32($0) } + [0x74]  // MARK BININT… TUPLE
        }
        var bytes: [UInt8] = [0x80, 0x02, 0x7d] + unicode("w") + global("torch._utils", "_rebuild_tensor_v2")
        bytes += [0x28, 0x28] + unicode("storage") + global("torch", "FloatStorage") + unicode("0") + unicode("cpu")
        bytes += [0x4b, 0x01, 0x74, 0x51]  // BININT1 1, TUPLE, BINPERSID
        bytes += [0x4b, 0x00] + intTuple(shape) + intTuple(strides) + [0x89]
        bytes += global("collections", "OrderedDict") + [0x29, 0x52]  // OrderedDict()
        bytes += [0x74, 0x52, 0x73, 0x2e]  // TUPLE REDUCE SETITEM STOP
        return bytes
    }

    /// `['0']`.
    static let storageKeys: [UInt8] = [0x80, 0x02, 0x5d, 0x58, 0x01, 0x00, 0x00, 0x00, 0x30, 0x61, 0x2e]
    /// Storage '0': element count 1, then 1.5 as float32.
    static let oneFloatStorage: [UInt8] =
        [1, 0, 0, 0, 0, 0, 0, 0] + withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian, Array.init)

    /// A zip whose `archive/data.pkl` is `inflated` zero bytes, deflated, with its declared uncompressed size
    /// (local header and central directory) overwritten by `declared(compressedSize)`.
    private func zipBomb(inflated: Int, declared: (UInt32) -> UInt32, name: String) throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent(name)
        let archive = try Archive(url: url, accessMode: .create)
        let zeros = Data(count: inflated)
        try archive.addEntry(
            with: "archive/data.pkl", type: .file, uncompressedSize: Int64(inflated),
            compressionMethod: .deflate
        ) { position, size in
            zeros.subdata(in: Int(position)..<Int(position) + size)
        }
        var bytes = [UInt8](try Data(contentsOf: url))
        // Local file header (PK\3\4): compressed size at 18, uncompressed at 22. Central header (PK\1\2): 20, 24.
        for (signature, compressedAt, uncompressedAt) in [
            ([0x50, 0x4b, 0x03, 0x04] as [UInt8], 18, 22),
            ([0x50, 0x4b, 0x01, 0x02], 20, 24)
        ] {
            let start = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == signature })
            let compressed = bytes[(start + compressedAt)..<(start + compressedAt + 4)].reversed()
                .reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            bytes.replaceSubrange(
                (start + uncompressedAt)..<(start + uncompressedAt + 4),
                with: littleEndian32(Int(declared(compressed))))
        }
        try Data(bytes).write(to: url)
        return url
    }

    private func safetensors(_ header: String) -> [UInt8] {
        littleEndian64(header.utf8.count) + Array(header.utf8)
    }

    private func write(_ bytes: [UInt8], as name: String, padding: Int = 0) throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent(name)
        try Data(bytes + [UInt8](repeating: 0, count: padding)).write(to: url)
        return url
    }

    private func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url.deletingLastPathComponent())
    }
}

func littleEndian32(_ value: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, Array.init)
}

func littleEndian64(_ value: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt64(value).littleEndian, Array.init)
}
