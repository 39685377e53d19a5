import Foundation
import SatSeekCheckpoint
import SatSeekTensor

/// Shapes of a CLIP model (vision transformer + text transformer), read from the checkpoint's tensor
/// shapes and, where shapes cannot tell (number of heads, activation), from a config file beside it.
public struct CLIPArchitecture: Sendable, Equatable {
    public struct Vision: Sendable, Equatable {
        public var width: Int
        public var layers: Int
        public var heads: Int
        public var patchSize: Int
        public var imageSize: Int
        public var activation: TransformerActivation
        /// Blocks per stage of a modified-ResNet tower (RN50: 3, 4, 6, 3); nil for a vision transformer. For a
        /// ResNet tower `width` and `heads` are the attention pool's, `layers` counts every block and `patchSize`
        /// is 32 (how much the image is reduced).
        public var stages: [Int]? = nil
    }
    public struct Text: Sendable, Equatable {
        public var width: Int
        public var layers: Int
        public var heads: Int
        public var contextLength: Int
        public var vocabularySize: Int
        public var activation: TransformerActivation
    }
    public var vision: Vision
    public var text: Text
    /// Length of the shared image/text embedding.
    public var embedDimensions: Int
    /// Preprocessing mean/std (OpenAI's unless the config says otherwise).
    public var mean: (Float, Float, Float) = CLIPArchitecture.openAIMean
    public var std: (Float, Float, Float) = CLIPArchitecture.openAIStd

    public static let openAIMean: (Float, Float, Float) = (0.48145466, 0.4578275, 0.40821073)
    public static let openAIStd: (Float, Float, Float) = (0.26862954, 0.26130258, 0.27577711)

    /// A short name such as `ViT-B/32` or `RN50` for the standard shapes, else `ViT-w64-l2-p8-i32` or
    /// `RN-w256-2.1.1.1-i64`.
    public var name: String {
        if let stages = vision.stages {
            let known: [[Int]: String] = [[3, 4, 6, 3]: "RN50", [3, 4, 23, 3]: "RN101"]
            if let base = known[stages], vision.width == 2048, vision.imageSize == 224 { return base }
            return "RN-w\(vision.width)-\(stages.map(String.init).joined(separator: "."))-i\(vision.imageSize)"
        }
        let known: [String: (Int, Int)] = ["B": (768, 12), "L": (1024, 24), "H": (1280, 32)]
        if let size = known.first(where: { $0.value == (vision.width, vision.layers) })?.key,
            vision.imageSize == 224 || vision.imageSize == 336
        {
            return "ViT-\(size)/\(vision.patchSize)" + (vision.imageSize == 336 ? "@336" : "")
        }
        return "ViT-w\(vision.width)-l\(vision.layers)-p\(vision.patchSize)-i\(vision.imageSize)"
    }

    public static func == (a: CLIPArchitecture, b: CLIPArchitecture) -> Bool {
        a.vision == b.vision && a.text == b.text && a.embedDimensions == b.embedDimensions
    }
}

/// The two checkpoint namings of CLIP in the wild.
public enum CLIPNaming: String, Sendable {
    /// OpenAI / OpenCLIP (`visual.transformer.resblocks.N.attn.in_proj_weight`, `token_embedding.weight`);
    /// RemoteCLIP, GeoRSCLIP and SkyCLIP ship this.
    case openAI = "openai"
    /// Hugging Face `CLIPModel` (`vision_model.encoder.layers.N.self_attn.q_proj.weight`).
    case huggingFace = "hf"
}

/// Settings read from a config file next to the weights.
struct CLIPConfigHints {
    var visionHeads: Int?
    /// `vision_cfg.head_width` (OpenCLIP): a ResNet tower's attention pool has `width / head_width` heads.
    var visionHeadWidth: Int?
    var textHeads: Int?
    var visionActivation: TransformerActivation?
    var textActivation: TransformerActivation?
    var mean: (Float, Float, Float)?
    var std: (Float, Float, Float)?

    /// Reads `open_clip_config.json` (OpenCLIP hub layout) or a Hugging Face `config.json` (+
    /// `preprocessor_config.json`) from `folder`, whichever exists.
    static func read(folder: URL) throws -> CLIPConfigHints {
        var hints = CLIPConfigHints()
        let openCLIP = folder.appendingPathComponent("open_clip_config.json")
        let hf = folder.appendingPathComponent("config.json")
        if let json = try object(at: openCLIP) {
            let model = json["model_cfg"] as? [String: Any] ?? json
            let vision = model["vision_cfg"] as? [String: Any] ?? [:]
            let text = model["text_cfg"] as? [String: Any] ?? [:]
            let activation: TransformerActivation = (model["quick_gelu"] as? Bool ?? false) ? .quickGELU : .gelu
            hints.visionActivation = activation
            hints.textActivation = activation
            hints.textHeads = text["heads"] as? Int ?? 8  // OpenCLIP's CLIPTextCfg default
            hints.visionHeadWidth = vision["head_width"] as? Int
            if vision["layers"] is [Any] {
                // A ResNet tower (layers per stage): its heads come from the attention pool's width.
            } else if let width = vision["width"] as? Int {
                let headWidth = vision["head_width"] as? Int ?? 64
                guard headWidth > 0, width > 0 else {
                    throw CheckpointMismatch(
                        url: openCLIP,
                        reason: "vision_cfg width \(width) and head_width "
                            + "\(headWidth) must be positive")
                }
                hints.visionHeads = width / headWidth
            }
            if let pre = json["preprocess_cfg"] as? [String: Any] {
                hints.mean = triple(pre["mean"]); hints.std = triple(pre["std"])
            }
        } else if let json = try object(at: hf) {
            let vision = json["vision_config"] as? [String: Any] ?? [:]
            let text = json["text_config"] as? [String: Any] ?? [:]
            hints.visionHeads = vision["num_attention_heads"] as? Int ?? 12
            hints.textHeads = text["num_attention_heads"] as? Int ?? 8
            hints.visionActivation = try activation(vision["hidden_act"] as? String ?? "quick_gelu", file: hf)
            hints.textActivation = try activation(text["hidden_act"] as? String ?? "quick_gelu", file: hf)
            if let pre = try object(at: folder.appendingPathComponent("preprocessor_config.json")) {
                hints.mean = triple(pre["image_mean"]); hints.std = triple(pre["image_std"])
            }
        }
        return hints
    }

    private static func object(at url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CheckpointMismatch(url: url, reason: "not a JSON object")
        }
        return json
    }

    private static func activation(_ name: String, file: URL) throws -> TransformerActivation {
        switch name {
        case "quick_gelu": return .quickGELU
        case "gelu": return .gelu
        default: throw CheckpointMismatch(url: file, reason: "hidden_act '\(name)' is not supported (gelu, quick_gelu)")
        }
    }

    private static func triple(_ value: Any?) -> (Float, Float, Float)? {
        guard let numbers = value as? [NSNumber], numbers.count == 3 else { return nil }
        return (numbers[0].floatValue, numbers[1].floatValue, numbers[2].floatValue)
    }
}

extension CLIPArchitecture {
    /// Infers the architecture from tensor shapes (and `hints` for heads/activation), checking the
    /// tensors every later load reads. Errors name the first tensor that does not fit.
    static func infer(
        from checkpoint: Checkpoint, naming: CLIPNaming, hints: CLIPConfigHints
    ) throws -> CLIPArchitecture {
        let keys = CLIPKeys(naming: naming)
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let tensor = checkpoint.tensors[name] else {
                throw CheckpointMismatch(
                    url: checkpoint.url,
                    reason:
                        "no tensor '\(name)' — not a \(naming == .openAI ? "OpenAI/OpenCLIP" : "Hugging Face") CLIP vision-transformer checkpoint"
                )
            }
            guard tensor.shape.count == rank else {
                throw CheckpointMismatch(
                    url: checkpoint.url, reason: "'\(name)' has shape \(tensor.shape), expected rank \(rank)")
            }
            return tensor.shape
        }
        func countLayers(_ prefix: (Int) -> String) -> Int {
            var n = 0
            while checkpoint.tensors.keys.contains(where: { $0.hasPrefix(prefix(n)) }) { n += 1 }
            return n
        }
        let vision: Vision, embed: Int
        if naming == .openAI, checkpoint.tensors[CLIPResNetTower.positionsKey] != nil {
            (vision, embed) = try resNetVision(checkpoint, hints: hints, shape: { try shape($0, rank: $1) })
        } else {
            (vision, embed) = try transformerVision(
                checkpoint, keys: keys, hints: hints, shape: { try shape($0, rank: $1) }, count: countLayers)
        }
        let tokenShape = try shape(keys.tokenEmbedding, rank: 2)
        let textPositions = try shape(keys.textPositions, rank: 2)
        let textLayers = countLayers { keys.textBlock($0) + "." }
        guard textLayers > 0 else {
            throw CheckpointMismatch(
                url: checkpoint.url, reason: "no text transformer layers ('\(keys.textBlock(0)).*')")
        }
        let textWidth = tokenShape[1]
        for (name, size) in [
            (keys.tokenEmbedding, tokenShape[0]), (keys.tokenEmbedding, textWidth),
            (keys.textPositions, textPositions[0]), (keys.visualProjection, embed)
        ] where size <= 0 {
            throw CheckpointMismatch(url: checkpoint.url, reason: "'\(name)' has an empty dimension")
        }
        var architecture = CLIPArchitecture(
            vision: vision,
            text: Text(
                width: textWidth, layers: textLayers, heads: hints.textHeads ?? max(1, textWidth / 64),
                contextLength: textPositions[0], vocabularySize: tokenShape[0],
                activation: hints.textActivation ?? .quickGELU),
            embedDimensions: embed)
        if let mean = hints.mean { architecture.mean = mean }
        if let std = hints.std { architecture.std = std }
        for (what, w, h) in [
            ("vision", vision.width, architecture.vision.heads), ("text", textWidth, architecture.text.heads)
        ]
        where h <= 0 || w % h != 0 {
            throw CheckpointMismatch(url: checkpoint.url, reason: "\(what) width \(w) is not divisible by \(h) heads")
        }
        return architecture
    }

    typealias ShapeReader = (String, Int) throws -> [Int]

    /// A vision transformer's shapes: patch embedding, positions (a square grid + the class token), layers.
    private static func transformerVision(
        _ checkpoint: Checkpoint, keys: CLIPKeys, hints: CLIPConfigHints, shape: ShapeReader,
        count countLayers: ((Int) -> String) -> Int
    ) throws -> (Vision, embed: Int) {
        let naming = keys.naming
        let patch = try shape(keys.patchWeight, 4)
        guard patch[1] == 3, patch[2] == patch[3] else {
            throw CheckpointMismatch(
                url: checkpoint.url, reason: "'\(keys.patchWeight)' has shape \(patch), expected [width, 3, p, p]")
        }
        let width = patch[0], patchSize = patch[2]
        guard width > 0, patchSize > 0 else {
            throw CheckpointMismatch(
                url: checkpoint.url,
                reason: "'\(keys.patchWeight)' has shape \(patch): "
                    + "width and patch size must be positive")
        }
        let positions = try shape(keys.visionPositions, 2)[0] - 1
        guard positions > 0 else {
            throw CheckpointMismatch(
                url: checkpoint.url,
                reason: "'\(keys.visionPositions)' holds no patch positions "
                    + "(a class position and at least one patch are needed)")
        }
        let side = Int(Double(positions).squareRoot().rounded())
        guard side * side == positions else {
            throw CheckpointMismatch(
                url: checkpoint.url,
                reason: "'\(keys.visionPositions)' holds \(positions) patch positions, not a square grid")
        }
        let embed: Int
        switch naming {
        case .openAI: embed = try shape(keys.visualProjection, 2)[1]
        case .huggingFace: embed = try shape(keys.visualProjection, 2)[0]
        }
        let visionLayers = countLayers { keys.visionBlock($0) + "." }
        guard visionLayers > 0 else {
            throw CheckpointMismatch(
                url: checkpoint.url, reason: "no vision transformer layers ('\(keys.visionBlock(0)).*')")
        }
        // OpenAI's build_model: heads = width / 64 when no config says otherwise.
        let vision = Vision(
            width: width, layers: visionLayers, heads: hints.visionHeads ?? max(1, width / 64),
            patchSize: patchSize, imageSize: side * patchSize, activation: hints.visionActivation ?? .quickGELU)
        return (vision, embed)
    }

    /// A modified-ResNet tower's shapes: stages from the block names, the attention pool's width and grid from its
    /// positions (the feature map is the image reduced 32 times), heads = width / head width (64 unless
    /// `open_clip_config.json` says otherwise), the embedding from `c_proj`.
    private static func resNetVision(
        _ checkpoint: Checkpoint, hints: CLIPConfigHints, shape: ShapeReader
    ) throws -> (Vision, embed: Int) {
        let positions = try shape(CLIPResNetTower.positionsKey, 2)
        let width = positions[1], cells = positions[0] - 1
        let grid = Int(Double(max(0, cells)).squareRoot().rounded())
        guard width > 0, cells > 0, grid * grid == cells else {
            throw CheckpointMismatch(
                url: checkpoint.url,
                reason: "'\(CLIPResNetTower.positionsKey)' has shape \(positions): not a mean token and a square grid")
        }
        let embed = try shape("visual.attnpool.c_proj.weight", 2)[0]
        let headWidth = hints.visionHeadWidth ?? 64
        guard headWidth > 0, width % headWidth == 0 else {
            throw CheckpointMismatch(
                url: checkpoint.url,
                reason: "attention-pool width \(width) is not a multiple of head width \(headWidth)")
        }
        let stages = try CLIPResNetTower.shape(of: checkpoint).stages
        let vision = Vision(
            width: width, layers: stages.reduce(0, +), heads: width / headWidth, patchSize: 32, imageSize: grid * 32,
            activation: .quickGELU, stages: stages)
        return (vision, embed)
    }
}

/// Tensor names of one naming.
struct CLIPKeys {
    let naming: CLIPNaming

    var patchWeight: String {
        naming == .openAI ? "visual.conv1.weight" : "vision_model.embeddings.patch_embedding.weight"
    }
    var classEmbedding: String {
        naming == .openAI ? "visual.class_embedding" : "vision_model.embeddings.class_embedding"
    }
    var visionPositions: String {
        naming == .openAI ? "visual.positional_embedding" : "vision_model.embeddings.position_embedding.weight"
    }
    var preNorm: String { naming == .openAI ? "visual.ln_pre" : "vision_model.pre_layrnorm" }
    var postNorm: String { naming == .openAI ? "visual.ln_post" : "vision_model.post_layernorm" }
    /// OpenAI: `[width, embed]` used as `x @ proj`; HF: a bias-free Linear `[embed, width]`.
    var visualProjection: String { naming == .openAI ? "visual.proj" : "visual_projection.weight" }
    var tokenEmbedding: String {
        naming == .openAI ? "token_embedding.weight" : "text_model.embeddings.token_embedding.weight"
    }
    var textPositions: String {
        naming == .openAI ? "positional_embedding" : "text_model.embeddings.position_embedding.weight"
    }
    var finalNorm: String { naming == .openAI ? "ln_final" : "text_model.final_layer_norm" }
    var textProjection: String { naming == .openAI ? "text_projection" : "text_projection.weight" }

    func visionBlock(_ i: Int) -> String {
        naming == .openAI ? "visual.transformer.resblocks.\(i)" : "vision_model.encoder.layers.\(i)"
    }
    func textBlock(_ i: Int) -> String {
        naming == .openAI ? "transformer.resblocks.\(i)" : "text_model.encoder.layers.\(i)"
    }

    /// Which naming a checkpoint uses, after stripping common wrappers; nil when neither fits.
    static func detect(_ checkpoint: Checkpoint) -> (CLIPNaming, Checkpoint)? {
        for prefix in ["", "state_dict.", "model.", "module.", "state_dict.module."] {
            let view = prefix.isEmpty ? checkpoint : checkpoint.stripping(prefix: prefix)
            if view.tensors["visual.class_embedding"] != nil || view.tensors["visual.conv1.weight"] != nil {
                return (.openAI, view)
            }
            if view.tensors["vision_model.embeddings.class_embedding"] != nil { return (.huggingFace, view) }
        }
        return nil
    }
}
