import Foundation
import SatSeekCheckpoint
import SatSeekTensor

/// A BERT encoder with sentence-transformers' mean pooling and L2 normalisation — the shape of
/// all-MiniLM-L6-v2, SatSeek's offline sentence encoder (Hugging Face `BertModel` keys:
/// `embeddings.word_embeddings.weight`, `encoder.layer.N.attention.self.query.weight`, …).
///
/// Each sentence runs at its own length, so no padding or attention mask is needed; the result equals the
/// padded, masked computation of the reference.
public final class BERTSentenceEncoder: Sendable {
    public struct Config: Sendable, Equatable {
        public var hiddenSize: Int
        public var layers: Int
        public var heads: Int
        public var intermediateSize: Int
        public var maxPositions: Int
        public var vocabularySize: Int
        public var layerNormEpsilon: Float
        public var activation: TransformerActivation
    }

    public let config: Config
    /// `BERT-<layers>x<hidden>@<folder>`.
    public let modelID: String
    public var dimensions: Int { config.hiddenSize }

    // Property names follow the checkpoint keys under `embeddings.` and `encoder.layer.N`.
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let tokenTypeEmbedding: [Float]  // row 0 of token_type_embeddings: single-segment input
    let embeddingsLayerNorm: LayerNorm
    let layers: [TransformerBlock]

    /// Loads `config.json` and `model.safetensors` (or `pytorch_model.bin`) from a model folder.
    public init(folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw CheckpointMismatch(url: configURL, reason: "missing or not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let value = json[key] as? Int else {
                throw CheckpointMismatch(url: configURL, reason: "no integer '\(key)'")
            }
            return value
        }
        let act = json["hidden_act"] as? String ?? "gelu"
        guard act == "gelu" else {
            throw CheckpointMismatch(url: configURL, reason: "hidden_act '\(act)' is not supported (gelu)")
        }
        let config = Config(
            hiddenSize: try int("hidden_size"), layers: try int("num_hidden_layers"),
            heads: try int("num_attention_heads"), intermediateSize: try int("intermediate_size"),
            maxPositions: try int("max_position_embeddings"), vocabularySize: try int("vocab_size"),
            layerNormEpsilon: (json["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-12,
            activation: .gelu)
        for (key, value) in [
            ("hidden_size", config.hiddenSize), ("num_hidden_layers", config.layers),
            ("num_attention_heads", config.heads), ("intermediate_size", config.intermediateSize),
            ("max_position_embeddings", config.maxPositions), ("vocab_size", config.vocabularySize)
        ]
        where value <= 0 {
            throw CheckpointMismatch(url: configURL, reason: "'\(key)' is \(value), must be positive")
        }
        guard config.hiddenSize % config.heads == 0 else {
            throw CheckpointMismatch(
                url: configURL, reason: "hidden_size \(config.hiddenSize) not divisible by \(config.heads) heads")
        }
        let weights = ["model.safetensors", "pytorch_model.bin"].map { folder.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
        guard let weights else {
            throw CheckpointMismatch(url: folder, reason: "holds neither model.safetensors nor pytorch_model.bin")
        }
        var checkpoint = try Checkpoint.load(weights)
        if checkpoint.tensors["embeddings.word_embeddings.weight"] == nil,
            checkpoint.tensors["bert.embeddings.word_embeddings.weight"] != nil
        {
            checkpoint = checkpoint.stripping(prefix: "bert.")
        }
        let h = config.hiddenSize, eps = config.layerNormEpsilon
        let reader = WeightReader(checkpoint: checkpoint)
        wordEmbeddings = try checkpoint.floats("embeddings.word_embeddings.weight", shape: [config.vocabularySize, h])
        positionEmbeddings = try checkpoint.floats(
            "embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        guard let types = checkpoint.tensors["embeddings.token_type_embeddings.weight"], types.shape.count == 2,
            types.shape[1] == h
        else {
            throw CheckpointMismatch(
                url: weights, reason: "no 'embeddings.token_type_embeddings.weight' of shape [types, \(h)]")
        }
        tokenTypeEmbedding = Array(try types.floats().prefix(h))
        embeddingsLayerNorm = try reader.layerNorm("embeddings.LayerNorm", width: h, epsilon: eps)
        layers = try (0..<config.layers).map { i in
            let p = "encoder.layer.\(i)"
            return TransformerBlock(
                attention: try reader.attention(
                    query: "\(p).attention.self.query", key: "\(p).attention.self.key",
                    value: "\(p).attention.self.value", output: "\(p).attention.output.dense",
                    width: h, heads: config.heads),
                norm1: try reader.layerNorm("\(p).attention.output.LayerNorm", width: h, epsilon: eps),
                norm2: try reader.layerNorm("\(p).output.LayerNorm", width: h, epsilon: eps),
                fc1: try reader.linear("\(p).intermediate.dense", out: config.intermediateSize, in: h),
                fc2: try reader.linear("\(p).output.dense", out: h, in: config.intermediateSize),
                activation: config.activation, normFirst: false)
        }
        self.config = config
        modelID = "bert-\(config.layers)x\(h)@\(folder.lastPathComponent)"
    }

    /// The L2-normalised mean-pooled embedding of one tokenized sentence (`[CLS] … [SEP]`).
    /// - Throws: When the ids are empty, longer than the position table, or outside the vocabulary.
    public func embed(tokens: [Int32]) throws -> [Float] {
        let h = config.hiddenSize, n = tokens.count
        guard n > 0 else { throw SentenceEncoderError.emptyTokens }
        guard n <= config.maxPositions else { throw SentenceEncoderError.tooLong(n, maximum: config.maxPositions) }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
            throw SentenceEncoderError.tokenOutOfVocabulary(Int(bad), vocabulary: config.vocabularySize)
        }
        var x = tokenEmbeddings(
            tokens[...], table: wordEmbeddings, positions: positionEmbeddings, width: h,
            offset: tokenTypeEmbedding)
        var pooled = [Float](repeating: 0, count: h)
        x.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            embeddingsLayerNorm.apply(xp, rows: n, into: xp)
            layers.apply(xp, tokens: n, causal: false, threads: 1)
            pooled.withUnsafeMutableBufferPointer { out in
                for i in 0..<n { addInPlace(out.baseAddress!, xp + i * h, count: h) }
                l2Normalize(out)  // the 1/n of the mean cancels in the normalisation
            }
        }
        return pooled
    }
}
