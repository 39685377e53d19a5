import Foundation
import Testing
import SatSeekText

/// Token-for-token parity with open_clip and Hugging Face on the committed golden strings.
@Suite struct GoldenParityTests {
    @Test func clipMatchesOpenCLIP() throws {
        guard let bpe = installedCLIPVocabulary() else { return }
        let golden = try TokenizerGolden.load()
        let tokenizer = try CLIPTokenizer(bpeFile: bpe)
        #expect(tokenizer.startOfTextID == 49406)
        #expect(tokenizer.endOfTextID == 49407)
        #expect(tokenizer.vocabularySize == 49408)
        expectSameIDs(golden.cases.map(\.text), tokenizer: "CLIP") { i, text in
            let item = golden.cases[i]
            let expected = item.clip + [Int32](repeating: 0, count: golden.clip_context_length - item.clip.count)
            return (expected, tokenizer.tokenize(text, contextLength: golden.clip_context_length))
        }
    }

    @Test func wordPieceMatchesHuggingFace() throws {
        guard let folder = installedMiniLM() else { return }
        let golden = try TokenizerGolden.load()
        let tokenizer = try WordPieceTokenizer(modelDirectory: folder)
        #expect(tokenizer.maxLength == golden.bert_max_length)
        #expect(tokenizer.lowercase)
        expectSameIDs(golden.cases.map(\.text), tokenizer: "BERT") { i, text in
            (golden.cases[i].bert, tokenizer.encode(text))
        }
    }

    /// Expects every string's ids to equal the golden ones; records the first difference in full and the count.
    private func expectSameIDs<ID: Equatable>(
        _ texts: [String], tokenizer: String, _ ids: (Int, String) -> (expected: [ID], actual: [ID])
    ) {
        var mismatches = 0
        for (i, text) in texts.enumerated() {
            let (expected, actual) = ids(i, text)
            guard actual != expected else { continue }
            if mismatches == 0 {
                Issue.record(
                    "\(tokenizer) ids differ for \"\(visible(text))\"\n expected \(expected)\n actual   \(actual)")
            }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(mismatches) of \(texts.count) strings differ")
    }

    @Test func goldenCoversTheHardCases() throws {
        let golden = try TokenizerGolden.load()
        #expect(golden.cases.count >= 200)
        #expect(
            golden.cases.contains { $0.clip.count == golden.clip_context_length },
            "a string longer than the CLIP context")
        #expect(
            golden.cases.contains { $0.bert.count == golden.bert_max_length }, "a string longer than 256 word pieces")
        #expect(golden.cases.contains { $0.text.isEmpty })
    }
}
