import Foundation
import Testing
import SatSeekText

@Suite struct WordPieceTokenizerTests {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", "!", ",", "中", "the", "##s",
        "a", "##a", "x", "##x"
    ]
    static func id(_ token: String) -> Int32 { Int32(vocabulary.firstIndex(of: token)!) }

    static func tiny(maxLength: Int = 256, lowercase: Bool = true) throws -> (WordPieceTokenizer, URL) {
        let folder = try temporaryFolder("wordpiece")
        let url = folder.appendingPathComponent("vocab.txt")
        try Data((vocabulary.joined(separator: "\n") + "\n").utf8).write(to: url)
        return (try WordPieceTokenizer(vocabFile: url, lowercase: lowercase, maxLength: maxLength), folder)
    }

    @Test func greedyLongestMatchWithContinuations() throws {
        let (tokenizer, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(tokenizer.vocabularySize == Self.vocabulary.count)
        let cls = Self.id("[CLS]"), sep = Self.id("[SEP]"), unk = Self.id("[UNK]")
        #expect(tokenizer.encode("UnAffable") == [cls, Self.id("un"), Self.id("##aff"), Self.id("##able"), sep])
        #expect(
            tokenizer.encode("Café, the!") == [cls, Self.id("cafe"), Self.id(","), Self.id("the"), Self.id("!"), sep])
        #expect(tokenizer.encode("unknown") == [cls, unk, sep])  // no full cover → one [UNK]
        #expect(tokenizer.encode("a中a") == [cls, Self.id("a"), Self.id("中"), Self.id("a"), sep])
        #expect(tokenizer.encode("") == [cls, sep])
        #expect(tokenizer.encode("\u{0}\u{FFFD}\u{200B}") == [cls, sep])
        // 100 characters are word-pieced, 101 are [UNK].
        #expect(tokenizer.encode(String(repeating: "x", count: 100)).count == 102)
        #expect(tokenizer.encode(String(repeating: "x", count: 101)) == [cls, unk, sep])
        // Literal special tokens pass through, case-sensitively.
        #expect(tokenizer.encode("a [MASK] a[SEP]") == [cls, Self.id("a"), Self.id("[MASK]"), Self.id("a"), sep, sep])
    }

    @Test func truncatesKeepingSeparatorLast() throws {
        let (tokenizer, folder) = try Self.tiny(maxLength: 5)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ids = tokenizer.encode("the the the the the the")
        #expect(ids == [Self.id("[CLS]"), Self.id("the"), Self.id("the"), Self.id("the"), Self.id("[SEP]")])
    }

    @Test func casedTokenizerKeepsCaseAndAccents() throws {
        let (tokenizer, folder) = try Self.tiny(lowercase: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(tokenizer.encode("The") == [Self.id("[CLS]"), Self.id("[UNK]"), Self.id("[SEP]")])
    }

    @Test func modelDirectoryReadsConfiguration() throws {
        let (_, folder) = try Self.tiny()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"max_seq_length": 7, "do_lower_case": false}"#.utf8)
            .write(to: folder.appendingPathComponent("sentence_bert_config.json"))
        try Data(#"{"do_lower_case": false, "model_max_length": 512}"#.utf8)
            .write(to: folder.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try WordPieceTokenizer(modelDirectory: folder)
        #expect(tokenizer.maxLength == 7)
        #expect(!tokenizer.lowercase)
    }

    @Test func errorsNameTheFile() throws {
        let folder = try temporaryFolder("wordpiece-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("vocab.txt")
        #expect(throws: TokenizerError.missingFile(missing)) { try WordPieceTokenizer(vocabFile: missing) }
        try Data("hello\nworld\n".utf8).write(to: missing)
        #expect(throws: TokenizerError.missingToken("[CLS]", file: missing)) {
            try WordPieceTokenizer(vocabFile: missing)
        }
        #expect(TokenizerError.missingToken("[CLS]", file: missing).description.contains(missing.path))
        try Data("{not json".utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(modelDirectory: folder) }
    }
}
