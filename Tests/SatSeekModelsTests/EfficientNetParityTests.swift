import Foundation
import Testing
import SatSeekImaging
@testable import SatSeekModels

/// Reference outputs written by scripts/reference/make_golden.py with the PyTorch reference implementation
/// (efficientnet-lite-pytorch) on the same image files.
struct GoldenFile: Decodable {
    struct Model: Decodable {
        let name: String
        let resolution: Int
        let images: [Image]
        let layers: [Layer]?
    }
    struct Image: Decodable {
        let path: String
        let top1: Int
        let top5: [Int]
        let embedding: [Float]
    }
    struct Layer: Decodable {
        let name: String
        let shape: [Int]
        let mean: Double
        let abs_mean: Double
    }
    let models: [Model]

    static func load() throws -> GoldenFile {
        let url = Bundle.module.url(forResource: "Golden/effnet_reference", withExtension: "json")!
        return try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: url))
    }
}

/// The repository root (golden paths such as `../shared/...` are relative to it).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Loads an installed model, or reports why the test cannot run. Missing weights fail the test when
/// SATSEEK_REQUIRE_MODELS=1 (as the README's test command sets) and skip it otherwise.
func installedModel(_ name: String) throws -> EfficientNetLite? {
    let store = ModelStore()
    let entry = try ModelStore.entry(named: name)
    guard let url = store.checkpoint(for: entry) else {
        if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
            Issue.record(
                "weights for \(name) are not installed in \(store.directory.path); run `satseek models install \(name)`"
            )
        }
        return nil
    }
    return try EfficientNetLite(config: entry.config, checkpointURL: url)
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
    return dot / (na.squareRoot() * nb.squareRoot())
}

@Test(
    "embeddings and ImageNet top-1 match the PyTorch reference",
    arguments: ["effnet-lite0", "effnet-lite1", "effnet-lite2"])
func parityWithReference(modelName: String) throws {
    let golden = try GoldenFile.load()
    guard let reference = golden.models.first(where: { $0.name == modelName }) else {
        Issue.record("golden file has no \(modelName)")
        return
    }
    guard let model = try installedModel(modelName) else { return }
    #expect(reference.images.count >= (modelName == "effnet-lite0" ? 8 : 3))
    for expected in reference.images {
        let url = repositoryRoot.appendingPathComponent(expected.path)
        let image = try ImageDecoder.decode(url)
        let embedding = model.embed(images: [image])
        let similarity = cosine(embedding, expected.embedding)
        #expect(similarity >= 0.999, "\(modelName) \(expected.path): cosine \(similarity)")
        let logits = model.classify(model.preprocessing.tensor(image))
        let top1 = logits.indices.max { logits[$0] < logits[$1] }!
        #expect(
            top1 == expected.top1,
            "\(modelName) \(expected.path): top-1 \(top1), reference \(expected.top1) (top-5 \(expected.top5))")
    }
}

@Test("per-layer activations of Lite0 track the reference")
func layerStatistics() throws {
    let golden = try GoldenFile.load()
    guard let reference = golden.models.first(where: { $0.name == "effnet-lite0" }), let layers = reference.layers,
        let model = try installedModel("effnet-lite0")
    else { return }
    let image = try ImageDecoder.decode(repositoryRoot.appendingPathComponent(reference.images[0].path))
    let input = model.preprocessing.tensor(image)
    var traced: [String: (shape: [Int], absMean: Double)] = [:]
    var pooled = [Float](repeating: 0, count: model.dimensions)
    let workspace = Workspace(activation: model.largestActivation, scratch: model.ringScratch)
    input.withUnsafeBufferPointer { x in
        pooled.withUnsafeMutableBufferPointer { p in
            model.features(x.baseAddress!, into: p.baseAddress!, workspace: workspace, threads: 2) {
                name, c, h, w, data in
                let values = UnsafeBufferPointer(start: data, count: c * h * w)
                traced[name] = ([c, h, w], values.reduce(0.0) { $0 + Double(abs($1)) } / Double(values.count))
            }
        }
    }
    for layer in layers where layer.shape.count == 3 {
        guard let ours = traced[layer.name] else {
            Issue.record("no traced activation named \(layer.name)")
            continue
        }
        #expect(ours.shape == layer.shape, "\(layer.name)")
        let relative = abs(ours.absMean - layer.abs_mean) / max(layer.abs_mean, 1e-6)
        #expect(relative < 0.02, "\(layer.name): mean |x| \(ours.absMean) vs reference \(layer.abs_mean)")
    }
}

@Test("a checkpoint of the wrong variant is rejected naming the mis-shaped tensor")
func wrongVariantIsRejected() throws {
    let store = ModelStore()
    guard let lite2 = store.checkpoint(for: try ModelStore.entry(named: "effnet-lite2")) else { return }
    #expect {
        _ = try EfficientNetLite(config: .lite0, checkpointURL: lite2)
    } throws: { error in
        let text = "\(error)"
        return text.contains(lite2.lastPathComponent) && text.contains("shape")
    }
}

@Test("block tables of Lite0/1/2 follow the width and depth scaling rules")
func blockTables() {
    #expect(EfficientNetLiteConfig.lite0.blocks.count == 16)
    #expect(EfficientNetLiteConfig.lite1.blocks.count == 21)  // stages 1,3,3,4,4,5,1
    #expect(EfficientNetLiteConfig.lite2.blocks.count == 21)  // ceil(1.2·r): 1,3,3,4,4,5,1
    #expect(EfficientNetLiteConfig.lite2.blocks.last!.outChannels == 352)
    #expect(EfficientNetLiteConfig.lite0.blocks.first!.inChannels == 32)
}

/// Reference outputs of a random-weight ResNet-50-layout network (base width 4) written by
/// scripts/reference/make_resnet_golden.py, with its zip-format checkpoint.
struct ResNetGolden: Decodable {
    struct Image: Decodable { let path: String; let top1: Int; let embedding: [Float] }
    let checkpoint: String
    let images: [Image]
}

@Test("ResNet (torchvision layout, zip checkpoint) matches the PyTorch reference")
func resnetParity() throws {
    let folder = Bundle.module.url(forResource: "Golden", withExtension: nil)!
    let golden = try JSONDecoder().decode(
        ResNetGolden.self, from: Data(contentsOf: folder.appendingPathComponent("resnet_reference.json")))
    let model = try ModelStore().load("resnet50:" + folder.appendingPathComponent(golden.checkpoint).path) as! ResNet
    #expect(model.dimensions == 4 * 8 * 4)
    #expect(model.modelID == "resnet50@resnet_w4_random")
    for expected in golden.images {
        let image = try ImageDecoder.decode(repositoryRoot.appendingPathComponent(expected.path))
        let similarity = cosine(model.embed(images: [image]), expected.embedding)
        #expect(similarity >= 0.999, "\(expected.path): cosine \(similarity)")
        let logits = try #require(model.classify(model.preprocessing.tensor(image)))
        #expect(logits.indices.max { logits[$0] < logits[$1] } == expected.top1)
    }
}

@Test("a ResNet spec without a checkpoint path, or a non-ResNet checkpoint, is a clear error")
func resnetErrors() throws {
    #expect { _ = try ModelStore().load("resnet50") } throws: { "\($0)".contains("resnet50:/path/to/checkpoint.pth") }
    let golden = Bundle.module.url(forResource: "Golden", withExtension: nil)!
    guard let lite0 = ModelStore().checkpoint(for: try ModelStore.entry(named: "effnet-lite0")) else { return }
    #expect { _ = try ResNet(checkpointURL: lite0) } throws: { "\($0)".contains("conv1.weight") }
    _ = golden
}
