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
        var mismatches = 0
        for item in golden.cases {
            let expected = item.clip + [Int32](repeating: 0, count: golden.clip_context_length - item.clip.count)
            let actual = tokenizer.tokenize(item.text, contextLength: golden.clip_context_length)
            if actual != expected {
                if mismatches == 0 {
                    Issue.record(
                        "CLIP ids differ for \"\(visible(item.text))\"\n expected \(item.clip)\n actual   \(actual.prefix { $0 != 0 })"
                    )
                }
                mismatches += 1
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(golden.cases.count) strings differ")
    }

    @Test func wordPieceMatchesHuggingFace() throws {
        guard let folder = installedMiniLM() else { return }
        let golden = try TokenizerGolden.load()
        let tokenizer = try WordPieceTokenizer(modelDirectory: folder)
        #expect(tokenizer.maxLength == golden.bert_max_length)
        #expect(tokenizer.lowercase)
        var mismatches = 0
        for item in golden.cases where tokenizer.encode(item.text) != item.bert {
            if mismatches == 0 {
                Issue.record(
                    "BERT ids differ for \"\(visible(item.text))\"\n expected \(item.bert)\n actual   \(tokenizer.encode(item.text))"
                )
            }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(mismatches) of \(golden.cases.count) strings differ")
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
