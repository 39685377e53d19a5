import Foundation
import SatSeekText

/// Turns a sentence into a vector of some embedding space (CLIP's joint space, or a sentence-encoder space
/// that an alignment maps images into).
public protocol TextEmbedder: Sendable {
    /// Identifies the text model and its weights.
    var modelID: String { get }
    /// Length of each embedding.
    var dimensions: Int { get }
    /// The L2-normalised embedding of `text`.
    func embed(text: String) throws -> [Float]
}

/// CLIP's text tower behind CLIP's byte-level BPE tokenizer: embeddings live in the same space as the
/// model's image embeddings (``modelID`` is the image model's).
public struct CLIPTextEmbedder: TextEmbedder {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public var modelID: String { model.modelID }
    public var dimensions: Int { model.dimensions }

    public init(model: CLIPModel, tokenizer: CLIPTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    public func embed(text: String) throws -> [Float] {
        try model.textEmbedding(tokens: tokenizer.tokenize(text, contextLength: model.architecture.text.contextLength))
    }
}

/// A BERT sentence encoder behind its WordPiece tokenizer (all-MiniLM-L6-v2 by default).
public struct SentenceTextEmbedder: TextEmbedder {
    public let encoder: BERTSentenceEncoder
    public let tokenizer: WordPieceTokenizer
    public var modelID: String { encoder.modelID }
    public var dimensions: Int { encoder.dimensions }

    /// Loads model and tokenizer from one folder (config.json, model.safetensors, vocab.txt).
    public init(folder: URL) throws {
        encoder = try BERTSentenceEncoder(folder: folder)
        tokenizer = try WordPieceTokenizer(modelDirectory: folder)
    }

    public func embed(text: String) throws -> [Float] {
        try encoder.embed(tokens: tokenizer.encode(text))
    }

    /// Embeds several sentences.
    public func embed(texts: [String]) throws -> [[Float]] { try texts.map { try embed(text: $0) } }
}

extension ModelStore {
    /// The default sentence encoder (all-MiniLM-L6-v2) from the store.
    /// - Throws: ``ModelStoreError/notInstalled(_:directory:hint:)`` with the install command.
    public func sentenceEmbedder() throws -> SentenceTextEmbedder {
        guard let folder = miniLMDirectory else {
            throw notInstalled(Self.miniLMAssetName)
        }
        return try SentenceTextEmbedder(folder: folder)
    }

    /// CLIP's text side for `model`: a Hugging Face folder's own `vocab.json` + `merges.txt` when present
    /// beside the weights, else the OpenAI BPE vocabulary from the store (`satseek models install clip-bpe`).
    public func clipTextEmbedder(for model: CLIPModel) throws -> CLIPTextEmbedder {
        let folder = model.weightsURL.deletingLastPathComponent()
        let vocab = folder.appendingPathComponent("vocab.json"), merges = folder.appendingPathComponent("merges.txt")
        if FileManager.default.fileExists(atPath: vocab.path), FileManager.default.fileExists(atPath: merges.path) {
            return CLIPTextEmbedder(model: model, tokenizer: try CLIPTokenizer(vocabJSON: vocab, mergesTXT: merges))
        }
        guard let bpe = clipVocabularyFile else {
            throw notInstalled(Self.clipVocabularyAssetName)
        }
        return CLIPTextEmbedder(model: model, tokenizer: try CLIPTokenizer(bpeFile: bpe))
    }
}
