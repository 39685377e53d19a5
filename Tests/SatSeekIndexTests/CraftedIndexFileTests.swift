import Foundation
import Testing
@testable import SatSeekIndex

/// HNSW files whose graph points where a search cannot follow (found by `scripts/fuzz.sh`: FuzzIndexFiles read
/// past an upper-level list in `HNSWGraphView.greedy`). Each is written by the real writer (valid checksums, as an
/// attacker would make them) and must be refused on opening.
@Suite("Crafted HNSW graphs are refused on opening")
struct CraftedIndexFileTests {
    private func graph() -> HNSWIndex {
        var index = HNSWIndex(dimensions: 4, parameters: .init(M: 4, efConstruction: 16, seed: 3))
        let vectors = (0..<400).map { Float(($0 * 37) % 23) / 11 - 1 }
        index.add(ids: (0..<100).map(Int64.init), vectors: vectors)
        return index
    }

    private func openError(_ index: HNSWIndex) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crafted-\(UUID().uuidString).ssidx")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try index.write(to: path, modelID: "m")
        do {
            _ = try HNSWIndex.open(path, verifyChecksum: false)
            return "opened"
        } catch let error as IndexFileError {
            return "\(error)"
        }
    }

    @Test("the untouched graph opens")
    func untouched() throws {
        #expect(try openError(graph()) == "opened")
    }

    @Test("an upper-level link to a node that is not on that level")
    func linkBelowItsLevel() throws {
        var index = graph()
        let upperNode = try #require(index.levels.firstIndex { $0 >= 1 })
        let groundNode = try #require(index.levels.firstIndex { $0 == 0 })
        let base = Int(index.upperOffsets[upperNode])
        index.upper[base] = max(index.upper[base], 1)
        index.upper[base + 1] = UInt32(groundNode)
        #expect(try openError(index).contains("link out of range"))
    }

    @Test("an upper-level list longer than M")
    func overlongList() throws {
        var index = graph()
        let upperNode = try #require(index.levels.firstIndex { $0 >= 1 })
        index.upper[Int(index.upperOffsets[upperNode])] = UInt32(index.parameters.M + 3)
        #expect(try openError(index).contains("link out of range"))
    }

    @Test("a top level above the entry point's own")
    func topLevelAboveEntryPoint() throws {
        var index = graph()
        index.maxLevel += 1
        for node in index.levels.indices where Int(index.levels[node]) > index.maxLevel { index.levels[node] = 0 }
        #expect(try openError(index).contains("top level"))
    }

    /// Header fields and section-table entries set near or past `Int.max` (byte offset, value).
    static let hugeFields: [(field: Int, value: UInt64)] = [
        (256 + 16, UInt64(Int.max) - 100), (256 + 16, UInt64.max), (256 + 8, UInt64.max - 63),
        (24, UInt64(1) << 63 | 5), (32, UInt64.max)
    ]

    /// Sizes in a file's header and section table near or past `Int.max` (found by FuzzIndexFiles once the index
    /// module's debug build kept its overflow checks: `offset + length` trapped). Written by the real writer, the
    /// header's own hash recomputed as an attacker would; each must be refused on opening.
    @Test(
        "a section length that overflows with its offset, and header sizes of 2^63 or more, are refused",
        arguments: 0..<5)
    func hugeSizes(case number: Int) throws {
        let (field, value) = Self.hugeFields[number]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("huge-\(UUID().uuidString).ssidx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph().write(to: path, modelID: "m")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: field, as: UInt64.self) }
        // The header hash covers the 256 header bytes with its own field zeroed.
        var header = Array(bytes[0..<256])
        header.withUnsafeMutableBytes { $0.storeBytes(of: 0, toByteOffset: 56, as: UInt64.self) }
        let hash = header.withUnsafeBytes { XXHash64.hash($0) }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: hash.littleEndian, toByteOffset: 56, as: UInt64.self) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexFileError.self) { try HNSWIndex.open(path, verifyChecksum: false) }
    }
}
