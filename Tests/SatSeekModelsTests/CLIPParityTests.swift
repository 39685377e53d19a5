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
        let images = try golden.images.map { try ImageDecoder.decode(repositoryRoot.appendingPathComponent($0)) }
        let embedded = model.embed(images: images)
        for (i, expected) in reference.image.enumerated() {
            let row = Array(embedded[(i * model.dimensions)..<((i + 1) * model.dimensions)])
            let similarity = cosine(row, expected)
            #expect(similarity >= 0.999, "\(naming) image \(golden.images[i]): cosine \(similarity)")
        }
        for (i, expected) in reference.text.enumerated() {
            let similarity = cosine(try model.textEmbedding(tokens: golden.tokens[i]), expected)
            #expect(similarity >= 0.999, "\(naming) text '\(golden.sentences[i])': cosine \(similarity)")
        }
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
