import Foundation
import Testing
import SatSeekImaging
@testable import SatSeekModels

/// Tiny random-weight CLIP models and their reference embeddings, written by
/// scripts/reference/make_clip_golden.py with open_clip (OpenAI naming) and Hugging Face transformers.
struct CLIPGolden: Decodable {
    struct Embeddings: Decodable {
        let image: [[Float]]
        let text: [[Float]]
    }
    let images: [String]
    let sentences: [String]
    let tokens: [[Int32]]
    let pixels_first_image: [Float]
    let openclip: Embeddings
    let hf: Embeddings

    static let folder = Bundle.module.url(forResource: "Golden/clip-tiny", withExtension: nil)!

    static func load() throws -> CLIPGolden {
        try JSONDecoder().decode(
            CLIPGolden.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
    }
}

@Suite("CLIP parity with the reference implementations")
struct CLIPParityTests {
    @Test("architecture is read from shapes and config", arguments: ["openclip", "hf"])
    func architecture(naming: String) throws {
        let model = try CLIPModel(url: CLIPGolden.folder.appendingPathComponent(naming))
        let a = model.architecture
        #expect(
            a.vision
                == .init(
                    width: 64, layers: 2, heads: 2, patchSize: 8, imageSize: 32,
                    activation: naming == "hf" ? .gelu : .quickGELU))
        #expect(
            a.text
                == .init(
                    width: 32, layers: 2, heads: 2, contextLength: 77, vocabularySize: 49408,
                    activation: .quickGELU))
        #expect(a.embedDimensions == 32)
        #expect(model.naming == (naming == "hf" ? .huggingFace : .openAI))
        #expect(model.modelID == "clip-ViT-w64-l2-p8-i32@\(naming)")
    }

    @Test("bicubic preprocessing matches open_clip's transform")
    func preprocessing() throws {
        let golden = try CLIPGolden.load()
        let model = try CLIPModel(url: CLIPGolden.folder.appendingPathComponent("openclip"))
        let image = try ImageDecoder.decode(repositoryRoot.appendingPathComponent(golden.images[0]))
        let tensor = model.preprocessing.tensor(image)
        #expect(tensor.count == golden.pixels_first_image.count)
        let worst = zip(tensor, golden.pixels_first_image).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4, "largest pixel difference \(worst)")
    }

    @Test("image and text embeddings match (cosine ≥ 0.999)", arguments: ["openclip", "hf"])
    func embeddings(naming: String) throws {
        let golden = try CLIPGolden.load()
        let model = try CLIPModel(url: CLIPGolden.folder.appendingPathComponent(naming))
        let reference = naming == "hf" ? golden.hf : golden.openclip
        try expectEmbeddings(
            of: model, images: golden.images, tokens: golden.tokens, match: reference.image, reference.text,
            label: naming)
    }

    @Test("padding after the end-of-text token changes nothing")
    func padding() throws {
        let golden = try CLIPGolden.load()
        let model = try CLIPModel(url: CLIPGolden.folder.appendingPathComponent("openclip"))
        let tokens = golden.tokens[0]
        let padded = tokens + [Int32](repeating: 0, count: 77 - tokens.count)
        #expect(try model.textEmbedding(tokens: tokens) == model.textEmbedding(tokens: padded))
        #expect(throws: CLIPTextError.self) { try model.textEmbedding(tokens: [49406, 60000, 49407]) }
    }

    @Test("a checkpoint that is not a CLIP vision transformer names what is wrong")
    func mismatch() throws {
        let resnet = repositoryRoot.appendingPathComponent("Tests/SatSeekModelsTests/Golden/resnet_w4_random.pth")
        #expect {
            try CLIPModel(url: resnet)
        } throws: { error in
            let text = "\(error)"
            return text.contains("resnet_w4_random.pth") && text.contains("visual.class_embedding")
        }
        let missing = repositoryRoot.appendingPathComponent("no-such-clip.pt")
        #expect { try CLIPModel(url: missing) } throws: { "\($0)".contains("no such file") }
    }
}

/// The modified-ResNet (RN50-style) tiny CLIP of scripts/reference/make_clip_rn_golden.py.
@Suite("CLIP parity: modified-ResNet image tower")
struct CLIPResNetParityTests {
    struct Golden: Decodable {
        let images: [String]
        let image: [[Float]]
        let text: [[Float]]
    }

    static let folder = CLIPGolden.folder.appendingPathComponent("openclip-rn")

    @Test("architecture: stages, attention-pool width and heads, image size from the tensors")
    func architecture() throws {
        let model = try CLIPModel(url: Self.folder)
        let v = model.architecture.vision
        #expect(v.stages == [2, 1, 1, 1] && v.width == 256 && v.heads == 4 && v.imageSize == 64)
        #expect(model.architecture.embedDimensions == 32 && model.preprocessing.resolution == 64)
        #expect(model.modelID == "clip-RN-w256-2.1.1.1-i64@openclip-rn")
    }

    @Test("image and text embeddings match open_clip (cosine ≥ 0.999)")
    func embeddings() throws {
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: CLIPGolden.folder.appendingPathComponent("reference-rn.json")))
        let tokens = try CLIPGolden.load().tokens
        try expectEmbeddings(
            of: try CLIPModel(url: Self.folder), images: golden.images, tokens: tokens, match: golden.image,
            golden.text, label: "RN")
    }
}

/// Expects every image's and token sequence's embedding at cosine ≥ 0.999 to the reference's.
func expectEmbeddings(
    of model: CLIPModel, images paths: [String], tokens: [[Int32]], match images: [[Float]], _ texts: [[Float]],
    label: String
) throws {
    let decoded = try paths.map { try ImageDecoder.decode(repositoryRoot.appendingPathComponent($0)) }
    let embedded = model.embed(images: decoded)
    for (i, expected) in images.enumerated() {
        let similarity = cosine(Array(embedded[(i * model.dimensions)..<((i + 1) * model.dimensions)]), expected)
        #expect(similarity >= 0.999, "\(label) image \(paths[i]): cosine \(similarity)")
    }
    for (i, expected) in texts.enumerated() {
        let similarity = cosine(try model.textEmbedding(tokens: tokens[i]), expected)
        #expect(similarity >= 0.999, "\(label) text \(i): cosine \(similarity)")
    }
}
