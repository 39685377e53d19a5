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
}
