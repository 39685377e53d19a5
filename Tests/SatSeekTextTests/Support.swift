import Foundation
@_exported import SatSeekTestSupport
import Testing

/// The folder where `satseek models install` puts assets: `$SATSEEK_MODEL_DIR`, else `~/.cache/satseek/models`
/// (the same rule as `ModelStore`, which this test target does not depend on).
let modelStoreDirectory: URL = {
    if let env = ProcessInfo.processInfo.environment["SATSEEK_MODEL_DIR"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/satseek/models")
}()

/// The installed CLIP merges file, or nil (recording a failure when SATSEEK_REQUIRE_MODELS=1).
func installedCLIPVocabulary() -> URL? {
    let url = modelStoreDirectory.appendingPathComponent("clip-bpe/bpe_simple_vocab_16e6.txt.gz")
    return assetAvailable(url, name: "clip-bpe") ? url : nil
}

/// The installed all-MiniLM-L6-v2 folder, or nil (recording a failure when SATSEEK_REQUIRE_MODELS=1).
func installedMiniLM() -> URL? {
    let url = modelStoreDirectory.appendingPathComponent("all-minilm-l6-v2", isDirectory: true)
    return assetAvailable(url.appendingPathComponent("vocab.txt"), name: "all-minilm-l6-v2") ? url : nil
}

private func assetAvailable(_ file: URL, name: String) -> Bool {
    if FileManager.default.fileExists(atPath: file.path) { return true }
    if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
        Issue.record("\(name) is not installed in \(modelStoreDirectory.path); run `satseek models install \(name)`")
    }
    return false
}

/// The committed reference produced by scripts/reference/make_tokenizer_golden.py.
struct TokenizerGolden: Decodable {
    struct Case: Decodable {
        let text: String
        /// open_clip ids with the zero padding removed.
        let clip: [Int32]
        let bert: [Int32]
    }
    let clip_context_length: Int
    let bert_max_length: Int
    let cases: [Case]

    static func load() throws -> TokenizerGolden {
        let url = try #require(
            Bundle.module.url(forResource: "tokenizer-golden", withExtension: "json", subdirectory: "Golden"))
        return try JSONDecoder().decode(TokenizerGolden.self, from: Data(contentsOf: url))
    }
}

/// A readable rendering of a string with its invisible characters escaped.
func visible(_ text: String) -> String {
    text.unicodeScalars.map { scalar in
        scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F
            ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
    }.joined()
}
