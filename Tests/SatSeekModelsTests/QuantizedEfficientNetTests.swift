import Foundation
import SatSeekImaging
import SatSeekTensor
import Testing

@testable import SatSeekModels

/// EfficientNet-Lite0 in int8: calibrated on one dataset's images, compared with the float network on another's,
/// and the same bytes from every kernel the CPU runs.
@Suite(.serialized) struct QuantizedEfficientNetTests {
    /// Preprocessed tensors of every `step`-th image (sorted paths) of a shared dataset.
    static func inputs(_ dataset: String, model: EfficientNetLite, step: Int) throws -> (tensors: [Float], count: Int) {
        let root = repositoryRoot.appendingPathComponent("../shared/datasets/\(dataset)").standardizedFileURL
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "jpg" }.map(\.path).sorted()
        let chosen = stride(from: 0, to: files.count, by: step).map { files[$0] }
        var tensors: [Float] = []
        for path in chosen {
            tensors += model.preprocessing.tensor(try ImageDecoder.decode(URL(fileURLWithPath: path)))
        }
        return (tensors, chosen.count)
    }

    @Test func int8FollowsFloatOnImagesItWasNotCalibratedOn() throws {
        guard let float = try installedModel("effnet-lite0") else { return }
        let calibrationSet = try Self.inputs("rsscn7-mini", model: float, step: 7)
        let calibration = calibrationSet.tensors.withUnsafeBufferPointer {
            float.calibrate($0, count: calibrationSet.count)
        }
        #expect(calibration.images == calibrationSet.count && calibration.ranges["stem"]?[0] == 0)
        // Every quantised tensor has a range: stem, and expand (but block 0), depthwise and output per block.
        #expect(calibration.ranges.count == 1 + 3 * float.blocks.count - 1)
        let again = calibrationSet.tensors.withUnsafeBufferPointer { float.calibrate($0, count: calibrationSet.count) }
        #expect(again.contentID == calibration.contentID, "calibration is deterministic")

        let int8 = try QuantizedEfficientNetLite(float, calibration: calibration)
        #expect(int8.modelID == "\(float.modelID)+int8.2@\(calibration.contentID)")
        let queries = try Self.inputs("aid-mini", model: float, step: 47)
        let reference = queries.tensors.withUnsafeBufferPointer { float.embed($0, count: queries.count) }
        let quantized = queries.tensors.withUnsafeBufferPointer { int8.embed($0, count: queries.count) }
        let d = float.dimensions
        var cosines: [Double] = []
        for i in 0..<queries.count {
            cosines.append(
                cosine(Array(reference[(i * d)..<((i + 1) * d)]), Array(quantized[(i * d)..<((i + 1) * d)])))
        }
        let mean = cosines.reduce(0, +) / Double(cosines.count)
        print(
            "int8 vs float32 embedding cosine over \(queries.count) aid-mini images: mean \(mean), min \(cosines.min()!)"
        )
        // Measured: mean 0.983, min 0.926 (0.939 while the stem ran in float; ONNX Runtime's int8 network gives
        // 0.984 / 0.932 against its own float32). Retrieval quality is held by `satseek eval` (README).
        #expect(mean >= 0.97 && cosines.min()! >= 0.92, "\(cosines)")

        // Batch 1 (layers split over threads) and a batch (one image per worker) give the same bytes.
        let single = queries.tensors.withUnsafeBufferPointer {
            int8.embed(UnsafeBufferPointer(rebasing: $0[0..<int8.inputCount]), count: 1)
        }
        #expect(single == Array(quantized[0..<d]))
    }

    @Test func everyKernelLevelGivesTheSameEmbedding() throws {
        guard let float = try installedModel("effnet-lite0") else { return }
        let images = try Self.inputs("aid-mini", model: float, step: 250)
        let calibration = images.tensors.withUnsafeBufferPointer { float.calibrate($0, count: images.count) }
        let levels = Int8KernelLevel.allCases.filter(\.isSupported)
        let embeddings = try levels.map { level in
            let model = try QuantizedEfficientNetLite(float, calibration: calibration, level: level)
            return images.tensors.withUnsafeBufferPointer { model.embed($0, count: images.count) }
        }
        for (level, embedding) in zip(levels, embeddings) {
            #expect(embedding == embeddings[0], "\(level) differs from \(levels[0])")
        }
    }

    @Test func calibrationFilesAreCheckedAndBoundToTheirModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calibration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let calibration = ActivationCalibration(
            model: "effnet-lite0@x", images: 2, ranges: ["stem": [0, 5.5], "blocks.0": [-3, 4]])
        let file = folder.appendingPathComponent("effnet-lite0.json")
        try calibration.encoded().write(to: file)
        #expect(try ActivationCalibration.read(file) == calibration)
        var other = calibration
        other.ranges["stem"] = [0, 5.25]
        #expect(other.contentID != calibration.contentID && calibration.contentID.count == 12)
        for damaged in [
            #"{"model": 3}"#, #"{"model":"m","images":1,"ranges":{"stem":[2,1]}}"#, "\u{0}",
            #"{"model":"m","images":1,"ranges":{"stem":[-3e38,3e38]}}"#
        ] {
            try Data(damaged.utf8).write(to: file)
            #expect(throws: CalibrationError.self) { try ActivationCalibration.read(file) }
        }
        // The store refuses an int8 model without a calibration, naming the command that makes one.
        let store = ModelStore(directory: folder)
        #expect(throws: (any Error).self) { try store.load("effnet-lite0+int8") }
        #expect(ModelStore.modelIDPrefix(ofSpec: "effnet-lite0+int8") == "effnet-lite0@")
    }
}
