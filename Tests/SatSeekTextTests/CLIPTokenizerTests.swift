import Foundation
import Testing
import SatSeekText

/// CLIP BPE on a tiny merges file: ids are 0–255 byte characters (in `bytes_to_unicode` order, `!` = 0), 256–511
/// the same with `</w>`, then one per merge, then `<start_of_text>`, `<end_of_text>`.
@Suite struct CLIPTokenizerTests {
    static let merges = "#version: 0.2\nh e\nhe l\nhel l\nhell o</w>\ni t</w>\n"

    static func tiny() throws -> (CLIPTokenizer, URL) {
        let folder = try temporaryFolder("clip")
        let url = folder.appendingPathComponent("merges.txt")
        try Data(merges.utf8).write(to: url)
        return (try CLIPTokenizer(bpeFile: url, mergeCount: 5), folder)
    }

    /// The id of a printable ASCII character (`!`…`~` come first, in order).
    static func byte(_ c: Character, final: Bool = false) -> Int32 {
        Int32(c.asciiValue! - 0x21) + (final ? 256 : 0)
    }

    @Test func vocabularyLayout() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(tokenizer.vocabularySize == 512 + 5 + 2)
        #expect(tokenizer.startOfTextID == 517)
        #expect(tokenizer.endOfTextID == 518)
    }

    @Test func mergesLowestRankFirst() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(tokenizer.encode("hello") == [515])
        #expect(tokenizer.encode("HELLO") == [515])  // lower-cased first
        // "hell": h e l l</w> → he → hel, and "hel l" cannot join "l</w>".
        #expect(tokenizer.encode("hell") == [513, Self.byte("l", final: true)])
        #expect(tokenizer.encode("hello hello") == [515, 515])
    }

    @Test func preTokenisationSplitsContractionsNumbersAndPunctuation() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        // "it's" → "it", "'s": "i t</w>" is merge 516, "'s" has no merge.
        #expect(tokenizer.encode("it's") == [516, Self.byte("'"), Self.byte("s", final: true)])
        // Digits are single pieces; a run of punctuation is one piece.
        #expect(
            tokenizer.encode("42?!") == [
                Self.byte("4", final: true), Self.byte("2", final: true),
                Self.byte("?"), Self.byte("!", final: true)
            ])
        #expect(tokenizer.encode("<start_of_text>it") == [tokenizer.startOfTextID, 516])
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.encode(" \t\n ") == [])
    }

    @Test func tokenizePadsAndTruncates() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(tokenizer.tokenize("hello", contextLength: 5) == [517, 515, 518, 0, 0])
        #expect(tokenizer.tokenize("hello hello hello", contextLength: 3) == [517, 515, 518])
        #expect(tokenizer.tokenize("").count == 77)
    }

    @Test func malformedMergesNameFileAndLine() throws {
        let folder = try temporaryFolder("clip-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("bad.txt")
        try Data("#version: 0.2\nh e\nthree parts here\n".utf8).write(to: url)
        #expect(throws: TokenizerError.malformedMerge(url, line: 3, text: "three parts here")) {
            try CLIPTokenizer(bpeFile: url, mergeCount: 2)
        }
        let message = TokenizerError.malformedMerge(url, line: 3, text: "three parts here").description
        #expect(message.contains(url.path) && message.contains("line 3"))
        #expect(throws: TokenizerError.tooFewMerges(url, found: 3, expected: 10)) {
            try CLIPTokenizer(bpeFile: url, mergeCount: 10)
        }
        let missing = folder.appendingPathComponent("absent.txt.gz")
        #expect(throws: TokenizerError.missingFile(missing)) { try CLIPTokenizer(bpeFile: missing) }
    }

    @Test func huggingFaceFilesGiveTheSameTokens() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Rebuild the same vocabulary as vocab.json + merges.txt.
        let order = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let rest = (0...255).filter { !order.contains($0) }
        var characters = [String](repeating: "", count: 256)
        for (n, b) in rest.enumerated() { characters[b] = String(UnicodeScalar(UInt32(256 + n))!) }
        for b in order { characters[b] = String(UnicodeScalar(UInt32(b))!) }
        var tokens = (order + rest).map { characters[$0] }
        tokens += tokens.map { $0 + "</w>" }
        tokens += ["he", "hel", "hell", "hello</w>", "it</w>", "<|startoftext|>", "<|endoftext|>"]
        var vocab: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { vocab[token] = id }
        let vocabURL = folder.appendingPathComponent("vocab.json")
        let mergesURL = folder.appendingPathComponent("hf-merges.txt")
        try JSONSerialization.data(withJSONObject: vocab).write(to: vocabURL)
        try Data(Self.merges.utf8).write(to: mergesURL)
        let hf = try CLIPTokenizer(vocabJSON: vocabURL, mergesTXT: mergesURL)
        for text in ["hello", "hell it's", "Héllo wörld 42"] {
            #expect(hf.tokenize(text) == tokenizer.tokenize(text))
        }
    }
}
