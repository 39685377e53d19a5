import Foundation
import Testing
@testable import SatSeekModels

/// Reference embeddings of all-MiniLM-L6-v2 from sentence-transformers
/// (scripts/reference/make_minilm_golden.py).
struct MiniLMGolden: Decodable {
    let max_seq_length: Int
    let sentences: [String]
    let tokens: [[Int32]]
    let embeddings: [[Float]]

    static func load() throws -> MiniLMGolden {
        let url = Bundle.module.url(forResource: "Golden/minilm_reference", withExtension: "json")!
        return try JSONDecoder().decode(MiniLMGolden.self, from: Data(contentsOf: url))
    }
}

/// The installed all-MiniLM-L6-v2 folder, or nil (a failure when SATSEEK_REQUIRE_MODELS=1).
func installedMiniLM() -> URL? {
    let store = ModelStore()
    let folder = store.directory.appendingPathComponent("all-minilm-l6-v2")
    if FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) { return folder }
    if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
        Issue.record(
            "all-minilm-l6-v2 is not installed in \(store.directory.path); run `satseek models install all-minilm-l6-v2`"
        )
    }
    return nil
}

@Suite("all-MiniLM-L6-v2 parity with sentence-transformers")
struct SentenceEncoderParityTests {
    @Test("embeddings of the reference token ids match (cosine ≥ 0.999)")
    func embeddings() throws {
        guard let folder = installedMiniLM() else { return }
        let golden = try MiniLMGolden.load()
        let encoder = try BERTSentenceEncoder(folder: folder)
        #expect(
            encoder.config
                == .init(
                    hiddenSize: 384, layers: 6, heads: 12, intermediateSize: 1536, maxPositions: 512,
                    vocabularySize: 30522, layerNormEpsilon: 1e-12, activation: .gelu))
        for (i, expected) in golden.embeddings.enumerated() {
            let similarity = cosine(try encoder.embed(tokens: golden.tokens[i]), expected)
            #expect(similarity >= 0.999, "'\(golden.sentences[i].prefix(40))': cosine \(similarity)")
        }
    }

    @Test("bad token ids are reported, not read out of bounds")
    func badTokens() throws {
        guard let folder = installedMiniLM() else { return }
        let encoder = try BERTSentenceEncoder(folder: folder)
        #expect(throws: SentenceEncoderError.self) { try encoder.embed(tokens: []) }
        #expect(throws: SentenceEncoderError.self) { try encoder.embed(tokens: [101, 40000, 102]) }
        #expect(throws: SentenceEncoderError.self) { try encoder.embed(tokens: [Int32](repeating: 1000, count: 600)) }
    }
}
