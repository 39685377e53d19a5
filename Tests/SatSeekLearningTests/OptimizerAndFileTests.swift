import Foundation
import Testing
@testable import SatSeekLearning

@Suite("Adam and head files")
struct OptimizerAndFileTests {
    @Test("Adam: first step is lr·sign(g), then converges on a quadratic")
    func adamQuadratic() {
        // f(x) = ½ Σ c_i (x_i − t_i)², ∇f = c ⊙ (x − t).
        let c: [Float] = [1, 10, 0.1]
        let t: [Float] = [1, -2, 3]
        var x: [Float] = [0, 0, 0]
        var adam = AdamOptimizer(learningRate: 0.05)
        func gradient(_ x: [Float]) -> [Float] { (0..<3).map { c[$0] * (x[$0] - t[$0]) } }
        adam.beginStep()
        adam.update(&x, gradient: gradient(x), slot: 0, decay: false)
        // Bias-corrected moments equal g and g² after one step: the move is lr · g/(|g| + ε).
        for i in 0..<3 { #expect(abs(x[i] - 0.05 * (t[i] > 0 ? 1 : -1)) < 1e-6, "\(x)") }
        for _ in 0..<3000 {
            adam.beginStep()
            adam.update(&x, gradient: gradient(x), slot: 0, decay: false)
        }
        for i in 0..<3 { #expect(abs(x[i] - t[i]) < 0.02, "\(x)") }
    }

    @Test("decoupled weight decay shrinks weights by lr·λ·θ when the gradient is zero")
    func weightDecay() {
        var adam = AdamOptimizer(learningRate: 0.1, weightDecay: 0.5)
        var w: [Float] = [2, -4]
        var b: [Float] = [2, -4]
        adam.beginStep()
        adam.update(&w, gradient: [0, 0], slot: 0, decay: true)
        adam.update(&b, gradient: [0, 0], slot: 1, decay: false)
        let expected: [Float] = [2 - 0.1 * 0.5 * 2, -4 + 0.1 * 0.5 * 4]
        #expect(w == expected)
        #expect(b == [2, -4])
    }

    func sampleHead() throws -> TrainedHead {
        var random = RandomSource(seed: 3)
        let head = try MLPHead(
            architecture: HeadArchitecture(
                inputDimensions: 10, hiddenSizes: [8, 6],
                outputDimensions: 16, output: .codes), random: &random)
        let provenance = HeadProvenance(
            dataset: "data", splitFraction: 0.6, splitSeed: 7, trainFingerprint: "abc",
            trainImages: 6, testImages: 4, classes: 2, trainingSeconds: 1.5)
        return TrainedHead(
            head: head, backboneModelID: "effnet-lite0@1234", configuration: TrainingConfiguration(),
            metrics: ["codes_map@20": 0.5], provenance: provenance)
    }

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("satseek-learning-\(UUID().uuidString)-\(name)")
            .path
    }

    @Test("a head file round-trips exactly and leaves no temporary file behind")
    func roundTrip() throws {
        let trained = try sampleHead()
        let path = temporaryPath("a.satseek-head")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HeadFile.write(trained, to: path)
        let loaded = try HeadFile.read(path, backboneModelID: "effnet-lite0@1234")
        #expect(loaded == trained)
        #expect(loaded.kind == "head:\(trained.header.id)" && trained.header.id.count == 12)
        let x = (0..<20).map { Float($0) / 7 - 1 }
        #expect(loaded.head.embed(x, count: 2) == trained.head.embed(x, count: 2))
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.contains(URL(fileURLWithPath: path).lastPathComponent + ".tmp") }
        #expect(leftovers.isEmpty)
        // Overwriting is atomic too.
        try HeadFile.write(trained, to: path)
        #expect(try HeadFile.read(path) == trained)
    }

    @Test("using a head with another backbone names both models")
    func wrongBackbone() throws {
        let path = temporaryPath("b.satseek-head")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HeadFile.write(try sampleHead(), to: path)
        do {
            _ = try HeadFile.read(path, backboneModelID: "effnet-lite2@9999")
            Issue.record("no error")
        } catch let error as LearningError {
            let text = "\(error)"
            #expect(text.contains("effnet-lite0@1234") && text.contains("effnet-lite2@9999"), "\(text)")
        }
    }

    @Test("truncated, corrupted, foreign and newer files are rejected with a reason")
    func badFiles() throws {
        let data = try HeadFile.encode(try sampleHead())
        func reason(_ bytes: Data) -> String {
            do {
                _ = try HeadFile.decode(bytes, path: "h.satseek-head")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason(data.prefix(data.count - 10)).contains("truncated"))
        #expect(reason(data.prefix(40)).contains("truncated"))
        #expect(reason(data.prefix(12)).contains("truncated"))
        #expect(reason(Data("hello world, not a head".utf8)).contains("magic"))
        #expect(reason(Data()).contains("empty"))
        var corrupted = data
        corrupted[corrupted.count - 3] ^= 0xFF
        #expect(reason(corrupted).contains("checksum"))
        var newer = data
        newer[8] = 9
        #expect(reason(newer).contains("version 9"))
        #expect(reason(data + Data([1, 2, 3, 4])).contains("unexpected bytes"))
    }

    @Test("layer sizes whose parameter count would overflow are refused, not trapped on")
    func overflowingHeadHeader() throws {
        let data = try HeadFile.encode(try sampleHead())
        let headerLength = Int(data[12]) | Int(data[13]) << 8 | Int(data[14]) << 16 | Int(data[15]) << 24
        var json = try #require(
            try JSONSerialization.jsonObject(with: data[16..<(16 + headerLength)]) as? [String: Any])
        var architecture = try #require(json["architecture"] as? [String: Any])
        architecture["inputDimensions"] = 1 << 40
        architecture["hiddenSizes"] = [1 << 40]
        json["architecture"] = architecture
        let header = try JSONSerialization.data(withJSONObject: json)
        var crafted = Data(data[0..<12])
        crafted.append(contentsOf: withUnsafeBytes(of: UInt32(header.count).littleEndian, Array.init))
        crafted.append(header)
        #expect {
            _ = try HeadFile.decode(crafted, path: "huge.satseek-head")
        } throws: { "\($0)".contains("limited to 65536 units") }
    }

    @Test("an alignment file declaring Int.max dimensions is refused, not trapped on")
    func overflowingAlignmentHeader() throws {
        let path = temporaryPath("huge.satseek-align")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header =
            #"{"id":"x","imageModelID":"m","textModelID":"t","imageDimensions":9223372036854775807,"textDimensions":2,"classes":[],"templates":[],"configuration":{"steps":1,"batchSize":1,"learningRate":0.1,"weightDecay":0,"temperature":0.1,"seed":1},"images":0,"finalLoss":0,"weightChecksum":"","created":""}"#
        var file = Data("SATSALGN".utf8)
        file.append(contentsOf: withUnsafeBytes(of: UInt32(1).littleEndian, Array.init))
        file.append(contentsOf: withUnsafeBytes(of: UInt32(header.utf8.count).littleEndian, Array.init))
        file.append(Data(header.utf8))
        try file.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try AlignmentFile.read(path)
        } throws: { "\($0)".contains("outside 1…65536") }
    }
}
