import Foundation
import Testing
import SatSeekImaging
import SatSeekTensor
@testable import SatSeekModels

/// `embedStream(prepare:deliver:)`: inputs written on demand (the indexer decodes each image there) embed
/// exactly like the same inputs prepared as one batch, a refused input is never delivered and the stream
/// ends at the first ticket `prepare` reports past the end.
@Suite("streamed inputs prepared on demand")
struct OnDemandInputTests {
    /// Deterministic input tensors (a different smooth pattern per image).
    static func inputs(count: Int, per: Int) -> [Float] {
        (0..<(count * per)).map { i in Float(sin(Double(i % per) * 0.001 * Double(i / per + 1))) }
    }

    static func check(_ model: any ImageEmbedder, count: Int, refused: Int) {
        let per = model.inputCount, dims = model.dimensions
        let all = inputs(count: count, per: per)
        let batch = all.withUnsafeBufferPointer { model.embed($0, count: count) }
        let record = Record()
        model.embedStream(
            prepare: { ticket, input in
                record.prepared(ticket)
                guard ticket < count else { return nil }
                guard ticket != refused else { return false }
                _ = input.update(fromContentsOf: all[(ticket * per)..<((ticket + 1) * per)])
                return true
            },
            deliver: { ticket, embedding in
                record.delivered(ticket, Array(embedding))
            })
        let (prepared, delivered) = record.value
        #expect(prepared.filter { $0 < count }.sorted() == Array(0..<count), "prepare is called once per image")
        #expect(prepared.contains(count), "the stream asks past the end once")
        #expect(delivered[refused] == nil, "a refused input is not delivered")
        #expect(delivered.count == count - 1)
        for i in 0..<count where i != refused {
            guard let row = delivered[i] else {
                Issue.record("image \(i) was not delivered")
                continue
            }
            let expected = Array(batch[(i * dims)..<((i + 1) * dims)])
            let difference = zip(row, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-5, "image \(i): max |difference| \(difference)")
        }
    }

    final class Record: @unchecked Sendable {
        private let lock = NSLock()
        private var tickets: [Int] = []
        private var rows: [Int: [Float]] = [:]
        var value: ([Int], [Int: [Float]]) { lock.withLock { (tickets, rows) } }
        func prepared(_ ticket: Int) { lock.withLock { tickets.append(ticket) } }
        func delivered(_ ticket: Int, _ row: [Float]) {
            lock.withLock {
                #expect(rows[ticket] == nil, "ticket \(ticket) delivered twice")
                rows[ticket] = row
            }
        }
    }

    @Test("EfficientNet-Lite0 workers prepare their own inputs", arguments: [1, 5])
    func efficientNet(count: Int) throws {
        guard let model = try installedModel("effnet-lite0") else { return }
        Self.check(model, count: count, refused: count - 1)
    }

    /// A model without its own `embedStream`: the protocol's default prepares groups of 32, then embeds each.
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

    @Test("the protocol's default prepares groups of inputs, then embeds them", arguments: [7, 32, 70])
    func defaultImplementation(count: Int) {
        Self.check(ChannelMeans(), count: count, refused: 3)
    }
}
