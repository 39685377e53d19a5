import Foundation
import Testing
@testable import SatSeekModels

/// Model files whose tensors or configs hold values that once divided by zero, turned NaN into an `Int` or
/// indexed past a shape: each must be refused with an error naming the file.
@Suite("Crafted model files are refused, never trap")
struct CraftedModelFileTests {
    @Test("head_width 0 in an OpenCLIP config is refused")
    func zeroHeadWidth() throws {
        try expectConfigRefused(
            "openclip", replacing: "\"head_width\": 32", with: "\"head_width\": 0",
            saying: ["open_clip_config.json", "head_width 0"])
    }

    @Test(
        "a zero patch size, and a position table without patch positions (was NaN → Int), are refused",
        arguments: [
            ([4, 3, 0, 0], [5, 4], "patch size must be positive"),
            ([4, 3, 2, 2], [0, 4], "no patch positions")
        ])
    func brokenPatchEmbedding(patch: [Int], positions: [Int], message: String) throws {
        try expectRefused(
            [
                "vision_model.embeddings.class_embedding": [4],
                "vision_model.embeddings.patch_embedding.weight": patch,
                "vision_model.embeddings.position_embedding.weight": positions
            ], saying: message
        ) { try CLIPModel(url: $0) }
    }

    @Test("a ResNet CLIP whose attention-pool positions are no square grid, or whose head width is 0, is refused")
    func brokenResNetCLIP() throws {
        try expectRefused(
            ["visual.conv1.weight": [4, 3, 3, 3], "visual.attnpool.positional_embedding": [4, 8]],
            saying: "not a mean token and a square grid"
        ) { try CLIPModel(url: $0) }
        try expectConfigRefused(
            "openclip-rn", replacing: "\"head_width\": 64", with: "\"head_width\": 0", saying: ["head width 0"])
    }

    @Test("a scalar where ResNet expects a convolution weight is refused")
    func resnetScalarWeight() throws {
        var tensors: [String: [Int]] = [
            "conv1.weight": [4, 3, 7, 7], "layer1.0.conv3.weight": [16, 4, 1, 1],
            "layer1.0.conv1.weight": []
        ]
        for name in ["weight", "bias", "running_mean", "running_var"] { tensors["bn1.\(name)"] = [4] }
        try expectRefused(tensors, saying: "'layer1.0.conv1.weight' has shape []") { try ResNet(checkpointURL: $0) }
    }

    @Test("num_attention_heads 0 in a BERT config is refused")
    func bertZeroHeads() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config =
            #"{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 0, "intermediate_size": 16, "max_position_embeddings": 4, "vocab_size": 10}"#
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect { try BERTSentenceEncoder(folder: folder) } throws: { error in
            "\(error)".contains("config.json") && "\(error)".contains("'num_attention_heads' is 0")
        }
    }

    /// Expects the tiny CLIP `naming` with `text` replaced in its `open_clip_config.json` to be refused with an error
    /// containing every phrase of `phrases`.
    private func expectConfigRefused(
        _ naming: String, replacing text: String, with replacement: String, saying phrases: [String]
    ) throws {
        let folder = try copyOfTinyCLIP(naming)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("open_clip_config.json")
        let edited = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: text, with: replacement)
        try edited.write(to: config, atomically: true, encoding: .utf8)
        #expect { try CLIPModel(url: folder) } throws: { error in phrases.allSatisfy { "\(error)".contains($0) } }
    }

    /// Expects `load` to refuse a safetensors file of these shapes with an error naming the file and saying `message`.
    private func expectRefused(
        _ shapes: [String: [Int]], saying message: String, _ load: (URL) throws -> Any
    ) throws {
        let url = try safetensors(shapes)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        #expect { _ = try load(url) } throws: { error in
            "\(error)".contains(url.lastPathComponent) && "\(error)".contains(message)
        }
    }

    /// A safetensors file of float32 zeros with these shapes.
    private func safetensors(_ shapes: [String: [Int]]) throws -> URL {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let bytes = shape.reduce(4, *)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var data = Data(withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init))
        data.append(json)
        data.append(Data(count: offset))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "satseek-crafted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("model.safetensors")
        try data.write(to: url)
        return url
    }

    private func copyOfTinyCLIP(_ naming: String) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-clip-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: CLIPGolden.folder.appendingPathComponent(naming), to: copy)
        return copy
    }
}
