import Foundation
import SatSeekCheckpoint
import SatSeekImaging
import SatSeekTensor

/// CLIP with a vision-transformer or modified-ResNet image tower and the causal text transformer (OpenAI CLIP,
/// OpenCLIP, Hugging Face `CLIPModel`; RemoteCLIP, GeoRSCLIP, SkyCLIP are such checkpoints).
///
/// Image embeddings (vision transformer, ``CLIPViTTower``): patch embedding (the `conv1` as one GEMM over
/// flattened patches), class token, positional embedding, `ln_pre`, pre-LN transformer blocks, `ln_post` on the
/// class token, projection. RN50-style checkpoints (OpenAI naming, `visual.attnpool.*`) run ``CLIPResNetTower``.
/// Text embeddings: token + positional embedding, causal blocks, final LayerNorm at the end-of-text token
/// (the largest id, as OpenAI's `argmax` pooling), projection. Because the mask is causal, tokens after the
/// end-of-text token cannot change the result, so only the tokens up to it are computed. Both are
/// L2-normalised, so image↔text and image↔image scores are cosines in one space.
public final class CLIPModel: ImageEmbedder {
    public let modelID: String
    public let architecture: CLIPArchitecture
    public let naming: CLIPNaming
    /// The weights file read (inside the folder when a folder was given).
    public let weightsURL: URL
    public var dimensions: Int { architecture.embedDimensions }
    public let preprocessing: Preprocessing

    /// The image tower: a vision transformer, or a modified ResNet (RN50-style checkpoints).
    let vision: Vision
    enum Vision: Sendable {
        case transformer(CLIPViTTower)
        case resNet(CLIPResNetTower)
    }
    // Text tower.
    let tokenEmbedding: [Float]
    let textPositions: [Float]
    let textBlocks: [TransformerBlock]
    let lnFinal: LayerNorm
    let textProjection: Linear
    static let layerNormEpsilon: Float = 1e-5

    /// Loads a CLIP checkpoint: a weights file (`.pt`/`.bin`/`.pth` torch zip or legacy, `.safetensors`), or
    /// a folder holding one (`open_clip_model.safetensors`, `open_clip_pytorch_model.bin`, `model.safetensors`,
    /// `pytorch_model.bin`). `open_clip_config.json` or `config.json` (+ `preprocessor_config.json`) beside
    /// the weights supply heads, activation and normalisation; without them OpenAI's conventions apply
    /// (64-wide heads, QuickGELU, OpenAI mean/std).
    public init(url: URL) throws {
        let (weights, folder) = try Self.locate(url)
        let loaded = try Checkpoint.load(weights)
        guard let (naming, checkpoint) = CLIPKeys.detect(loaded) else {
            let sample = loaded.names.prefix(3).joined(separator: ", ")
            throw CheckpointMismatch(
                url: weights,
                reason:
                    "no 'visual.class_embedding' (OpenAI/OpenCLIP) or 'vision_model.embeddings.class_embedding' (Hugging Face): not a CLIP vision-transformer checkpoint (first tensors: \(sample))"
            )
        }
        let hints = try CLIPConfigHints.read(folder: folder)
        let arch = try CLIPArchitecture.infer(from: checkpoint, naming: naming, hints: hints)
        let keys = CLIPKeys(naming: naming)
        let reader = CLIPWeightReader(checkpoint: checkpoint, naming: naming)
        let v = arch.vision, t = arch.text

        if v.stages != nil {
            vision = .resNet(
                try CLIPResNetTower(
                    checkpoint: checkpoint, heads: v.heads, imageSize: v.imageSize, embed: arch.embedDimensions))
        } else {
            vision = .transformer(try CLIPViTTower(checkpoint: checkpoint, keys: keys, reader: reader, arch: arch))
        }
        tokenEmbedding = try checkpoint.floats(keys.tokenEmbedding, shape: [t.vocabularySize, t.width])
        textPositions = try checkpoint.floats(keys.textPositions, shape: [t.contextLength, t.width])
        textBlocks = try (0..<t.layers).map { i in
            try reader.block(keys.textBlock(i), width: t.width, heads: t.heads, activation: t.activation)
        }
        lnFinal = try reader.layerNorm(keys.finalNorm, width: t.width)
        textProjection = try reader.projection(keys.textProjection, from: t.width, to: arch.embedDimensions)

        architecture = arch
        self.naming = naming
        weightsURL = weights
        preprocessing = Preprocessing(resolution: v.imageSize, mean: arch.mean, std: arch.std, filter: .bicubic)
        let isFolder = weights.deletingLastPathComponent().standardizedFileURL.path == url.standardizedFileURL.path
        let label = isFolder ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
        modelID = "clip-\(arch.name)@\(label)"
    }

    /// The weights file and the folder whose config files apply.
    static func locate(_ url: URL) throws -> (weights: URL, folder: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointMismatch(url: url, reason: "no such file or folder")
        }
        guard isDirectory.boolValue else { return (url, url.deletingLastPathComponent()) }
        let candidates = [
            "open_clip_model.safetensors", "open_clip_pytorch_model.bin", "model.safetensors",
            "pytorch_model.bin"
        ]
        for name in candidates {
            let file = url.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) { return (file, url) }
        }
        throw CheckpointMismatch(url: url, reason: "folder holds none of \(candidates.joined(separator: ", "))")
    }

    // MARK: Images

    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        precondition(inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
        var output = [Float](repeating: 0, count: count * dimensions)
        let threads = defaultThreadCount
        let workers = min(threads, count), inner = workers == 1 ? threads : 1
        output.withUnsafeMutableBufferPointer { out in
            let outBase = UncheckedSendableBox(out.baseAddress!)
            parallelClaims(count, threads: workers) { next in
                while let i = next() {
                    let row = outBase.value + i * self.dimensions
                    self.imageFeatures(inputs.baseAddress! + i * self.inputCount, into: row, threads: inner)
                    l2Normalize(UnsafeMutableBufferPointer(start: row, count: self.dimensions))
                }
            }
        }
        return output
    }

    /// The projected (unnormalised) image embedding of one CHW tensor.
    func imageFeatures(_ image: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, threads: Int) {
        switch vision {
        case .transformer(let tower): tower.features(image, into: output, threads: threads)
        case .resNet(let tower): tower.features(image, into: output, threads: threads)
        }
    }

    // MARK: Text

    /// The L2-normalised text embedding of tokenizer output (`[start, …, end]`, optionally zero-padded).
    /// - Throws: When an id is outside the vocabulary or no tokens are given.
    public func textEmbedding(tokens: [Int32]) throws -> [Float] {
        let t = architecture.text
        guard let maxID = tokens.max(), !tokens.isEmpty else { throw CLIPTextError.emptyTokens }
        guard maxID < t.vocabularySize, tokens.allSatisfy({ $0 >= 0 }) else {
            throw CLIPTextError.tokenOutOfVocabulary(Int(maxID), vocabulary: t.vocabularySize)
        }
        // OpenAI pools at argmax(ids) (the end-of-text token); later tokens cannot affect it (causal mask).
        let end = min(tokens.firstIndex(of: maxID)!, t.contextLength - 1)
        let length = end + 1, width = t.width
        var x = tokenEmbeddings(tokens[..<length], table: tokenEmbedding, positions: textPositions, width: width)
        var output = [Float](repeating: 0, count: dimensions)
        x.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            textBlocks.apply(xp, tokens: length, causal: true, threads: 1)
            let last = xp + end * width
            lnFinal.apply(last, rows: 1, into: last)
            output.withUnsafeMutableBufferPointer { out in
                textProjection.apply(last, rows: 1, into: out.baseAddress!)
                l2Normalize(out)
            }
        }
        return output
    }
}

/// Reads transformer layers in either CLIP naming, checking every shape.
struct CLIPWeightReader {
    let checkpoint: Checkpoint
    let naming: CLIPNaming
    private var reader: WeightReader { WeightReader(checkpoint: checkpoint) }

    func layerNorm(_ prefix: String, width: Int) throws -> LayerNorm {
        try reader.layerNorm(prefix, width: width, epsilon: CLIPModel.layerNormEpsilon)
    }

    func linear(_ prefix: String, out: Int, in inFeatures: Int) throws -> Linear {
        try reader.linear(prefix, out: out, in: inFeatures)
    }

    /// A bias-free projection `from → to`: OpenAI stores `[from, to]` (used as `x @ P`), Hugging Face and
    /// OpenCLIP's linear variant a Linear weight `[to, from]` (with an optional bias).
    func projection(_ name: String, from: Int, to: Int) throws -> Linear {
        if naming == .openAI, checkpoint.tensors[name] != nil {
            let matrix = try checkpoint.floats(name, shape: [from, to])
            var transposed = [Float](repeating: 0, count: from * to)
            for i in 0..<from { for j in 0..<to { transposed[j * from + i] = matrix[i * to + j] } }
            return Linear(inFeatures: from, outFeatures: to, weight: transposed, bias: [Float](repeating: 0, count: to))
        }
        let weightName = name.hasSuffix(".weight") ? name : "\(name).weight"
        let biasName = String(weightName.dropLast(".weight".count)) + ".bias"
        let bias =
            checkpoint.tensors[biasName] == nil
            ? [Float](repeating: 0, count: to)
            : try checkpoint.floats(biasName, shape: [to])
        return Linear(
            inFeatures: from, outFeatures: to, weight: try checkpoint.floats(weightName, shape: [to, from]),
            bias: bias)
    }

    func block(_ prefix: String, width: Int, heads: Int, activation: TransformerActivation) throws -> TransformerBlock {
        let attention: MultiHeadSelfAttention, norm1: LayerNorm, norm2: LayerNorm, fc1Name: String, fc2Name: String
        switch naming {
        case .openAI:
            let inProjection = Linear(
                inFeatures: width, outFeatures: 3 * width,
                weight: try checkpoint.floats("\(prefix).attn.in_proj_weight", shape: [3 * width, width]),
                bias: try checkpoint.floats("\(prefix).attn.in_proj_bias", shape: [3 * width]))
            attention = MultiHeadSelfAttention(
                inProjection: inProjection, outProjection: try linear("\(prefix).attn.out_proj", out: width, in: width),
                heads: heads)
            norm1 = try layerNorm("\(prefix).ln_1", width: width)
            norm2 = try layerNorm("\(prefix).ln_2", width: width)
            fc1Name = "\(prefix).mlp.c_fc"; fc2Name = "\(prefix).mlp.c_proj"
        case .huggingFace:
            let p = "\(prefix).self_attn"
            attention = try reader.attention(
                query: "\(p).q_proj", key: "\(p).k_proj", value: "\(p).v_proj",
                output: "\(p).out_proj", width: width, heads: heads)
            norm1 = try layerNorm("\(prefix).layer_norm1", width: width)
            norm2 = try layerNorm("\(prefix).layer_norm2", width: width)
            fc1Name = "\(prefix).mlp.fc1"; fc2Name = "\(prefix).mlp.fc2"
        }
        guard let hidden = checkpoint.tensors["\(fc1Name).weight"]?.shape.first else {
            throw CheckpointMismatch(url: checkpoint.url, reason: "no tensor '\(fc1Name).weight'")
        }
        return TransformerBlock(
            attention: attention, norm1: norm1, norm2: norm2,
            fc1: try linear(fc1Name, out: hidden, in: width),
            fc2: try linear(fc2Name, out: width, in: hidden),
            activation: activation, normFirst: true)
    }
}

/// CLIP's vision-transformer image tower (names follow the OpenAI keys under `visual.`): patch embedding (one GEMM
/// over flattened patches), class token, positions, `ln_pre`, pre-LN blocks, `ln_post` on the class token,
/// projection.
struct CLIPViTTower: Sendable {
    let vision: CLIPArchitecture.Vision
    let conv1: Linear  // patch embedding, `width × 3·p·p`, no bias
    let classEmbedding: [Float]
    let visionPositions: [Float]
    let lnPre: LayerNorm
    let visionBlocks: [TransformerBlock]
    let lnPost: LayerNorm
    let proj: Linear  // `embed × width`, no bias

    init(checkpoint: Checkpoint, keys: CLIPKeys, reader: CLIPWeightReader, arch: CLIPArchitecture) throws {
        let v = arch.vision
        vision = v
        conv1 = Linear(
            inFeatures: 3 * v.patchSize * v.patchSize, outFeatures: v.width,
            weight: try checkpoint.floats(keys.patchWeight, shape: [v.width, 3, v.patchSize, v.patchSize]),
            bias: [Float](repeating: 0, count: v.width))
        classEmbedding = try checkpoint.floats(keys.classEmbedding, shape: [v.width])
        let patches = (v.imageSize / v.patchSize) * (v.imageSize / v.patchSize)
        visionPositions = try checkpoint.floats(keys.visionPositions, shape: [patches + 1, v.width])
        lnPre = try reader.layerNorm(keys.preNorm, width: v.width)
        visionBlocks = try (0..<v.layers).map { i in
            try reader.block(keys.visionBlock(i), width: v.width, heads: v.heads, activation: v.activation)
        }
        lnPost = try reader.layerNorm(keys.postNorm, width: v.width)
        proj = try reader.projection(keys.visualProjection, from: v.width, to: arch.embedDimensions)
    }

    /// The projected (unnormalised) image embedding of one CHW tensor.
    func features(_ image: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, threads: Int) {
        let v = vision
        let p = v.patchSize, side = v.imageSize, grid = side / p, patchCount = grid * grid
        let tokens = patchCount + 1, width = v.width, patchLength = 3 * p * p
        let patches = UnsafeMutablePointer<Float>.allocate(capacity: patchCount * patchLength)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: tokens * width)
        defer { patches.deallocate(); x.deallocate() }
        for py in 0..<grid {
            for px in 0..<grid {
                var dst = patches + (py * grid + px) * patchLength
                for c in 0..<3 {
                    for ky in 0..<p {
                        let src = image + c * side * side + (py * p + ky) * side + px * p
                        dst.update(from: src, count: p)
                        dst += p
                    }
                }
            }
        }
        classEmbedding.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: width) }
        conv1.apply(patches, rows: patchCount, into: x + width, threads: threads)
        visionPositions.withUnsafeBufferPointer { addInPlace(x, $0.baseAddress!, count: tokens * width) }
        lnPre.apply(x, rows: tokens, into: x)
        visionBlocks.apply(x, tokens: tokens, causal: false, threads: threads)
        lnPost.apply(x, rows: 1, into: x)
        proj.apply(x, rows: 1, into: output)
    }
}
