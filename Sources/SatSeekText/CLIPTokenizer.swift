import Foundation

/// CLIP's byte-level BPE tokenizer: a behavioural port of open_clip's `SimpleTokenizer` (`open_clip/tokenizer.py`,
/// itself OpenAI CLIP's) with its default `clean="lower"`.
///
/// Text is cleaned by `TextFixer.clipClean` (ftfy subset, HTML unescaping, whitespace collapsing, lower case), split
/// by `CLIPPreTokenizer`, each piece's UTF-8 bytes are mapped to printable characters (`bytes_to_unicode`) and
/// merged by BPE with a `</w>` end-of-word marker. Results per piece are cached. The type is `Sendable`; the cache
/// is shared by copies and guarded by a lock.
public struct CLIPTokenizer: Sendable {
    /// The number of merges open_clip reads from `bpe_simple_vocab_16e6.txt.gz` (`49152 - 256 - 2`).
    public static let defaultMergeCount = 49152 - 256 - 2

    /// The id of `<start_of_text>` (49406 with the standard vocabulary).
    public let startOfTextID: Int32
    /// The id of `<end_of_text>` (49407 with the standard vocabulary).
    public let endOfTextID: Int32
    /// The number of distinct token ids (49408 with the standard vocabulary).
    public let vocabularySize: Int

    private struct Merge: Sendable { let rank: Int32; let result: Int32 }
    /// Keyed by `left << 32 | right`.
    private let merges: [UInt64: Merge]
    private let byteIDs: [Int32]
    private let finalByteIDs: [Int32]
    /// Keyed by UTF-8 bytes (exact comparison, unlike `String`'s canonical equivalence).
    private let specialIDs: [[UInt8]: Int32]
    private let preTokenizer: CLIPPreTokenizer
    private let cache = BPECache()

    /// Loads open_clip's merges file, `bpe_simple_vocab_16e6.txt.gz` (gzip, or already decompressed text).
    ///
    /// The vocabulary is built as open_clip builds it: the 256 byte characters, the same with `</w>`, the joined
    /// first `mergeCount` merges (lines 2…), then `<start_of_text>` and `<end_of_text>`.
    /// - Parameter mergeCount: How many merges to read; open_clip's value unless testing with a small file.
    public init(bpeFile: URL, mergeCount: Int = CLIPTokenizer.defaultMergeCount) throws {
        let data = try Gzip.readPossiblyCompressed(bpeFile)
        guard let text = String(data: data, encoding: .utf8) else { throw TokenizerError.notUTF8(bpeFile) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count - 1 >= mergeCount else {
            throw TokenizerError.tooFewMerges(bpeFile, found: max(lines.count - 1, 0), expected: mergeCount)
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(mergeCount)
        for index in 1..<(1 + mergeCount) {
            pairs.append(try Self.parseMerge(lines[index], line: index + 1, file: bpeFile))
        }
        var vocabulary = ByteLevel.order.map { String(ByteLevel.character[Int($0)]) }
        vocabulary += vocabulary.map { $0 + "</w>" }
        vocabulary += pairs.map { $0.0 + $0.1 }
        vocabulary += ["<start_of_text>", "<end_of_text>"]
        var encoder: [String: Int32] = [:]
        encoder.reserveCapacity(vocabulary.count)
        for (id, token) in vocabulary.enumerated() { encoder[token] = Int32(id) }
        try self.init(
            encoder: encoder, pairs: pairs, specials: ["<start_of_text>", "<end_of_text>"],
            vocabularySize: vocabulary.count, file: bpeFile, mergesFile: bpeFile)
    }

    /// Loads a Hugging Face CLIP tokenizer (`vocab.json` + `merges.txt`); the algorithm is the same.
    /// The special tokens are `<|startoftext|>` / `<|endoftext|>` (or open_clip's names when those are absent).
    public init(vocabJSON: URL, mergesTXT: URL) throws {
        guard let data = try? Data(contentsOf: vocabJSON) else { throw TokenizerError.missingFile(vocabJSON) }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.malformedVocabulary(vocabJSON, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw TokenizerError.malformedVocabulary(vocabJSON, reason: "expected a JSON object of token → id")
        }
        var encoder: [String: Int32] = [:]
        for (token, value) in dictionary {
            guard let id = (value as? NSNumber)?.int32Value, id >= 0 else {
                throw TokenizerError.malformedVocabulary(
                    vocabJSON, reason: "the id of \"\(token)\" is not a non-negative integer")
            }
            encoder[token] = id
        }
        guard let mergesData = try? Data(contentsOf: mergesTXT) else { throw TokenizerError.missingFile(mergesTXT) }
        guard let text = String(data: mergesData, encoding: .utf8) else { throw TokenizerError.notUTF8(mergesTXT) }
        var pairs: [(String, String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if (index == 0 && line.hasPrefix("#version")) || line.allSatisfy(\.isWhitespace) { continue }
            pairs.append(try Self.parseMerge(line, line: index + 1, file: mergesTXT))
        }
        let specials =
            encoder["<|startoftext|>"] != nil
            ? ["<|startoftext|>", "<|endoftext|>"] : ["<start_of_text>", "<end_of_text>"]
        let size = Int(encoder.values.max() ?? -1) + 1
        try self.init(
            encoder: encoder, pairs: pairs, specials: specials, vocabularySize: size,
            file: vocabJSON, mergesFile: mergesTXT)
    }

    private init(
        encoder: [String: Int32], pairs: [(String, String)], specials: [String], vocabularySize: Int,
        file: URL, mergesFile: URL
    ) throws {
        func id(_ token: String) throws -> Int32 {
            guard let id = encoder[token] else { throw TokenizerError.missingToken(token, file: file) }
            return id
        }
        var byteIDs = [Int32](repeating: 0, count: 256)
        var finalByteIDs = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let character = String(ByteLevel.character[byte])
            byteIDs[byte] = try id(character)
            finalByteIDs[byte] = try id(character + "</w>")
        }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, pair) in pairs.enumerated() {
            // A merge whose parts are not tokens can never apply; one that yields a non-token is an error.
            guard let left = encoder[pair.0], let right = encoder[pair.1] else { continue }
            guard let result = encoder[pair.0 + pair.1] else {
                throw TokenizerError.malformedVocabulary(
                    mergesFile,
                    reason:
                        "merge \(rank + 1) (\(pair.0) \(pair.1)) yields \(pair.0 + pair.1), which is not in the vocabulary"
                )
            }
            merges[Self.key(left, right)] = Merge(rank: Int32(rank), result: result)
        }
        self.merges = merges
        self.byteIDs = byteIDs
        self.finalByteIDs = finalByteIDs
        self.startOfTextID = try id(specials[0])
        self.endOfTextID = try id(specials[1])
        self.specialIDs = [Array(specials[0].utf8): startOfTextID, Array(specials[1].utf8): endOfTextID]
        self.preTokenizer = CLIPPreTokenizer(specials: specials.map { Array($0.unicodeScalars) })
        self.vocabularySize = vocabularySize
    }

    private static func parseMerge(_ line: Substring, line number: Int, file: URL) throws -> (String, String) {
        let parts = TextFixer.pythonSplit(Array(line.unicodeScalars))
        guard parts.count == 2 else {
            throw TokenizerError.malformedMerge(file, line: number, text: String(line))
        }
        return (String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1])))
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// BPE token ids of `text`, without start/end tokens (open_clip's `SimpleTokenizer.encode`).
    public func encode(_ text: String) -> [Int32] {
        let cleaned = Array(TextFixer.clipClean(text).unicodeScalars)
        var ids: [Int32] = []
        for piece in preTokenizer.split(cleaned) {
            let token = String(String.UnicodeScalarView(piece))
            let bytes = Array(token.utf8)
            if let special = specialIDs[bytes] {
                ids.append(special)
            } else if let cached = cache[bytes] {
                ids += cached
            } else {
                let result = bpe(bytes)
                cache[bytes] = result
                ids += result
            }
        }
        return ids
    }

    /// `open_clip.tokenize(text)[0]`: `[<start_of_text>] + encode(text) + [<end_of_text>]`, cut to `contextLength`
    /// with `<end_of_text>` forced into the last place when cut, then zero-padded to `contextLength`.
    public func tokenize(_ text: String, contextLength: Int = 77) -> [Int32] {
        precondition(contextLength > 0, "contextLength must be positive")
        var tokens = [startOfTextID] + encode(text) + [endOfTextID]
        if tokens.count > contextLength {
            tokens.removeLast(tokens.count - contextLength)
            tokens[contextLength - 1] = endOfTextID
        }
        tokens += [Int32](repeating: 0, count: contextLength - tokens.count)
        return tokens
    }

    /// Merges the byte symbols of one pre-token, lowest-ranked pair first, until no known pair is left.
    private func bpe(_ bytes: [UInt8]) -> [Int32] {
        guard let last = bytes.last else { return [] }
        var word = bytes.dropLast().map { byteIDs[Int($0)] } + [finalByteIDs[Int(last)]]
        while word.count > 1 {
            var best: Merge?
            var bestKey: UInt64 = 0
            for k in 0..<(word.count - 1) {
                let key = Self.key(word[k], word[k + 1])
                if let merge = merges[key], merge.rank < (best?.rank ?? .max) {
                    best = merge
                    bestKey = key
                }
            }
            guard let merge = best else { break }
            let first = Int32(bitPattern: UInt32(truncatingIfNeeded: bestKey >> 32))
            let second = Int32(bitPattern: UInt32(truncatingIfNeeded: bestKey))
            var merged: [Int32] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if word[i] == first, i + 1 < word.count, word[i + 1] == second {
                    merged.append(merge.result)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }
}

/// A bounded, lock-protected cache of BPE results per pre-token.
final class BPECache: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [[UInt8]: [Int32]] = [:]
    private let limit = 50_000

    subscript(token: [UInt8]) -> [Int32]? {
        get { lock.withLock { storage[token] } }
        set {
            lock.withLock {
                if storage.count >= limit { storage.removeAll(keepingCapacity: true) }
                storage[token] = newValue
            }
        }
    }
}
