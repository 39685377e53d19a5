import Foundation
import Testing
import SatSeekImaging
import SatSeekTensor
@testable import SatSeekModels

/// `embed(count:prepare:)`: inputs written on demand (the indexer decodes each image there) embed exactly
/// like the same inputs prepared as one batch, and a refused input leaves a zero row.
@Suite("inputs prepared on demand")
struct OnDemandInputTests {
    /// Deterministic input tensors (a different smooth pattern per image).
    static func inputs(count: Int, per: Int) -> [Float] {
        (0..<(count * per)).map { i in Float(sin(Double(i % per) * 0.001 * Double(i / per + 1))) }
    }

    static func check(_ model: any ImageEmbedder, count: Int, refused: Int) {
        let per = model.inputCount, dims = model.dimensions
        let all = inputs(count: count, per: per)
        let batch = all.withUnsafeBufferPointer { model.embed($0, count: count) }
        let calls = Counter()
        let onDemand = model.embed(count: count) { i, input in
            calls.add()
            guard i != refused else { return false }
            input.update(fromContentsOf: all[(i * per)..<((i + 1) * per)])
            return true
        }
        #expect(calls.value == count, "prepare is called once per image")
        for i in 0..<count {
            let row = Array(onDemand[(i * dims)..<((i + 1) * dims)])
            if i == refused {
                #expect(row.allSatisfy { $0 == 0 }, "a refused input's row stays zero")
            } else {
                let expected = Array(batch[(i * dims)..<((i + 1) * dims)])
                let difference = zip(row, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(difference < 1e-5, "image \(i): max |difference| \(difference)")
            }
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func add() { lock.withLock { count += 1 } }
    }

    @Test("EfficientNet-Lite0 workers prepare their own inputs", arguments: [1, 5])
    func efficientNet(count: Int) throws {
        guard let model = try installedModel("effnet-lite0") else { return }
        Self.check(model, count: count, refused: count - 1)
    }

    /// A model without its own `embed(count:prepare:)`: the protocol's default prepares all, then embeds.
    struct ChannelMeans: ImageEmbedder {
        let modelID = "channel-means"
        let dimensions = 3
        let preprocessing = Preprocessing(resolution: 8)
        func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
            var output = [Float](repeating: 0, count: count * 3)
            for i in 0..<count {
                for c in 0..<3 {
                    var sum: Float = 0
                    for p in 0..<64 { sum += inputs[i * 192 + c * 64 + p] }
                    output[i * 3 + c] = sum / 64 + 2
                }
            }
            return output
        }
    }

    @Test("the protocol's default prepares every input, then embeds the batch")
    func defaultImplementation() {
        Self.check(ChannelMeans(), count: 7, refused: 3)
    }
}
