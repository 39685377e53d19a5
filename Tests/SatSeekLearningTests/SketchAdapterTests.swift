import Foundation
import Testing
@testable import SatSeekLearning

/// Paired descriptors with a hidden linear relation: region = M · sketch + noise, several pairs per tile.
private func pairedDescriptors(count: Int, seed: UInt64) -> (sketches: [Float], regions: [Float], group: [Int]) {
    var random = RandomSource(seed: seed)
    let s = 24, r = 16
    var m = [Float](repeating: 0, count: r * s)
    var mixer = RandomSource(seed: 5)  // the relation is the same for every set
    for i in m.indices { m[i] = mixer.nextGaussian() }
    var sketches: [Float] = [], regions: [Float] = [], group: [Int] = []
    for i in 0..<count {
        let x = (0..<s).map { _ in random.nextGaussian() }
        sketches += x
        for row in 0..<r {
            var v: Float = 0
            for c in 0..<s { v += m[row * s + c] * x[c] }
            regions.append(v + 0.3 * random.nextGaussian())
        }
        group.append(i / 3)
    }
    return (sketches, regions, group)
}

@Suite("sketch adapter")
struct SketchAdapterTests {
    func train(seed: UInt64, pairs: (sketches: [Float], regions: [Float], group: [Int])) throws -> SketchAdapter {
        var configuration = SketchAdapterConfiguration()
        configuration.dimensions = 16
        configuration.steps = 150
        configuration.batchSize = 64
        configuration.learningRate = 1e-2
        configuration.seed = seed
        return try SketchAdapter.train(
            sketches: pairs.sketches, sketchDimensions: 24, regions: pairs.regions, regionDimensions: 16,
            group: pairs.group, modelID: "test-model", images: pairs.group.last! + 1, generator: "test",
            configuration: configuration)
    }

    @Test("training is deterministic under a seed, and the trained maps pair unseen drawings with their windows")
    func deterministicAndLearns() throws {
        let training = pairedDescriptors(count: 600, seed: 1)
        let first = try train(seed: 11, pairs: training)
        let again = try train(seed: 11, pairs: training)
        let other = try train(seed: 12, pairs: training)
        #expect(first.parameters == again.parameters && first.header.id == again.header.id)
        #expect(first.parameters != other.parameters && first.header.id != other.header.id)

        // Held-out pairs: each mapped drawing's nearest mapped window should be its own partner.
        let test = pairedDescriptors(count: 100, seed: 2)
        func recallAt1(_ adapter: SketchAdapter) -> Double {
            let zs = adapter.mapSketches(test.sketches, count: 100)
            let zr = adapter.mapRegions(test.regions, count: 100)
            let d = adapter.header.sharedDimensions
            var hits = 0
            for i in 0..<100 {
                let scores = (0..<100).map { j in (0..<d).reduce(Float(0)) { $0 + zs[i * d + $1] * zr[j * d + $1] } }
                if scores.indices.max(by: { scores[$0] < scores[$1] }) == i { hits += 1 }
            }
            return Double(hits) / 100
        }
        var untrained = SketchAdapterConfiguration()
        untrained.steps = 1
        untrained.dimensions = 16
        untrained.learningRate = 1e-9
        let baseline = try SketchAdapter.train(
            sketches: training.sketches, sketchDimensions: 24, regions: training.regions, regionDimensions: 16,
            group: training.group, modelID: "test-model", images: 200, generator: "test", configuration: untrained)
        let learnt = recallAt1(first), chance = recallAt1(baseline)
        #expect(learnt >= 0.8, "recall@1 \(learnt)")
        #expect(learnt > chance + 0.5, "trained \(learnt) vs untrained \(chance)")
    }

    @Test("adapter files round-trip; damaged, truncated and foreign files are refused with the path")
    func fileRoundTrip() throws {
        let adapter = try train(seed: 3, pairs: pairedDescriptors(count: 90, seed: 4))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.satseek-sketch").path
        try SketchAdapterFile.write(adapter, to: path)
        let read = try SketchAdapterFile.read(path)
        #expect(read == adapter)
        #expect(read.kind == "sketch-regions:\(adapter.header.id)")

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func refused(_ data: [UInt8], _ reason: String, pairs: Bool = false) throws {
            let damaged = folder.appendingPathComponent("damaged").path
            try Data(data).write(to: URL(fileURLWithPath: damaged))
            do {
                if pairs { _ = try SketchPairsFile.read(damaged) } else { _ = try SketchAdapterFile.read(damaged) }
                Issue.record("a damaged adapter was accepted (\(reason))")
            } catch {
                #expect("\(error)".contains(damaged) && "\(error)".contains(reason), "\(error)")
            }
        }
        var flipped = bytes
        flipped[flipped.count - 7] ^= 0x40
        try refused(flipped, "checksum")
        try refused(Array(bytes.dropLast(9)), "truncated")
        try refused(Array("SATSALGN".utf8) + bytes.dropFirst(8), "magic")
        bytes[12] = 0xFF
        bytes[13] = 0xFF
        bytes[14] = 0xFF
        bytes[15] = 0x7F
        try refused(bytes, "truncated header")

        // Kept training pairs: the same values back; a file whose sizes do not fit it is refused before
        // anything is allocated for them.
        let pairs = pairedDescriptors(count: 12, seed: 8)
        let pairsPath = folder.appendingPathComponent("p.pairs").path
        try SketchPairsFile.write(
            sketches: pairs.sketches, sketchDimensions: 24, regions: pairs.regions, regionDimensions: 16,
            group: pairs.group, to: pairsPath)
        let back = try SketchPairsFile.read(pairsPath)
        #expect(back.sketches == pairs.sketches && back.regions == pairs.regions && back.group == pairs.group)
        #expect(back.sketchDimensions == 24 && back.regionDimensions == 16)
        var pairBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pairsPath)))
        try refused(Array(pairBytes.dropLast(4)), "truncated", pairs: true)
        pairBytes[8] = 0xFF
        pairBytes[9] = 0xFF
        pairBytes[10] = 0xFF
        pairBytes[11] = 0xFF
        try refused(pairBytes, "do not fit", pairs: true)
    }
}
