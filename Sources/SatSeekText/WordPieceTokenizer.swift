import Foundation

/// BERT's uncased WordPiece tokenizer, as used by sentence-transformers `all-MiniLM-L6-v2`: a behavioural port of
/// Hugging Face `BertTokenizerFast` (tokenizers' `BertNormalizer` + `BertPreTokenizer` + `WordPiece` + the
/// `[CLS] … [SEP]` template).
///
/// 1. The literal special tokens `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` (case-sensitive, where present in the
///    vocabulary) are cut out of the raw text first and map straight to their ids.
/// 2. Normalisation: drop NUL, U+FFFD and control/format/private-use/unassigned characters (TAB, LF, CR excepted),
///    turn whitespace into spaces, surround CJK ideographs with spaces, then (when lower-casing) strip accents
///    (NFD, drop non-spacing marks) and lower-case character by character.
/// 3. Split on whitespace, and isolate each punctuation character (ASCII 33–47, 58–64, 91–96, 123–126, or a
///    Unicode P* character).
/// 4. WordPiece: greedy longest match first, continuations prefixed `##`; a word with no full cover, or longer
///    than 100 characters, becomes `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    /// The id of `[CLS]`, first in every encoding.
    public let classifierID: Int32
    /// The id of `[SEP]`, last in every encoding.
    public let separatorID: Int32
    /// The id of `[UNK]`.
    public let unknownID: Int32
    /// The id of `[PAD]` (0 in BERT vocabularies).
    public let paddingID: Int32
    /// The most ids `encode` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// Whether text is lower-cased (and, with it, stripped of accents).
    public let lowercase: Bool
    /// The number of lines in the vocabulary file.
    public let vocabularySize: Int

    /// Keyed by UTF-8 bytes: lookups must be exact, not up to Unicode canonical equivalence as `String` keys are.
    private let vocabulary: [[UInt8]: Int32]
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]
    private let maxCharactersPerWord = 100

    /// Loads `vocab.txt` (one token per line; the id is the 0-based line number; a repeated token keeps its last
    /// line, as Hugging Face does).
    /// - Parameters:
    ///   - lowercase: `do_lower_case` of the tokenizer (true for uncased models); also strips accents.
    ///   - maxLength: Ids per encoding, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
    public init(vocabFile: URL, lowercase: Bool = true, maxLength: Int = 256) throws {
        guard let data = try? Data(contentsOf: vocabFile) else { throw TokenizerError.missingFile(vocabFile) }
        guard let text = String(data: data, encoding: .utf8) else { throw TokenizerError.notUTF8(vocabFile) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        var vocabulary: [[UInt8]: Int32] = [:]
        vocabulary.reserveCapacity(lines.count)
        for (index, token) in lines.enumerated() {
            vocabulary[Array(token.utf8)] = Int32(index)
        }
        func id(_ token: String) throws -> Int32 {
            guard let id = vocabulary[Array(token.utf8)] else {
                throw TokenizerError.missingToken(token, file: vocabFile)
            }
            return id
        }
        guard maxLength >= 2 else {
            throw TokenizerError.malformedConfig(
                vocabFile, reason: "maxLength \(maxLength) leaves no room for [CLS] and [SEP]")
        }
        self.classifierID = try id("[CLS]")
        self.separatorID = try id("[SEP]")
        self.unknownID = try id("[UNK]")
        self.paddingID = vocabulary[Array("[PAD]".utf8)] ?? 0
        self.vocabulary = vocabulary
        self.vocabularySize = lines.count
        self.lowercase = lowercase
        self.maxLength = maxLength
        self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[Array(token.utf8)].map { (Array(token.unicodeScalars), $0) }
        }
    }

    /// Loads a sentence-transformers model folder: `vocab.txt`, `do_lower_case` from `tokenizer_config.json`
    /// (default true) and `max_seq_length` from `sentence_bert_config.json` (default 256; capped by the
    /// tokenizer's `model_max_length`).
    public init(modelDirectory: URL) throws {
        func json(_ name: String) throws -> [String: Any]? {
            let url = modelDirectory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else { return nil }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError.malformedConfig(url, reason: "not a JSON object")
            }
            return object
        }
        let tokenizerConfig = try json("tokenizer_config.json") ?? [:]
        let sentenceConfig = try json("sentence_bert_config.json") ?? [:]
        var maxLength = (sentenceConfig["max_seq_length"] as? NSNumber)?.intValue ?? 256
        if let modelMax = (tokenizerConfig["model_max_length"] as? NSNumber)?.intValue, modelMax > 0 {
            maxLength = min(maxLength, modelMax)
        }
        try self.init(
            vocabFile: modelDirectory.appendingPathComponent("vocab.txt"),
            lowercase: (tokenizerConfig["do_lower_case"] as? Bool) ?? true, maxLength: maxLength)
    }

    /// `[CLS] + word-piece ids + [SEP]`, the word pieces cut so that the whole is at most `maxLength` ids.
    public func encode(_ text: String) -> [Int32] {
        var ids = [classifierID]
        let budget = maxLength - 2
        let scalars = Array(text.unicodeScalars)
        var start = 0
        var i = 0
        func flushText(upTo end: Int) {
            guard start < end, ids.count - 1 < budget else { return }
            for word in preTokenize(normalize(scalars[start..<end])) {
                ids += wordPiece(word)
                if ids.count - 1 >= budget { break }
            }
        }
        scan: while i < scalars.count {
            if scalars[i] == "[" {
                for special in specialTokens where scalars[i...].starts(with: special.scalars) {
                    flushText(upTo: i)
                    ids.append(special.id)
                    i += special.scalars.count
                    start = i
                    continue scan
                }
            }
            i += 1
        }
        flushText(upTo: scalars.count)
        if ids.count - 1 > budget { ids.removeLast(ids.count - 1 - budget) }
        ids.append(separatorID)
        return ids
    }

    // MARK: Steps

    static func isChineseCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// The general category Hugging Face tokenizers sees. Its character classes (Rust crate `unicode_categories`)
    /// are Unicode 8.0 tables: characters assigned later count as unassigned (neither control, mark nor punctuation),
    /// and the few characters whose category changed since keep their 8.0 one.
    static func legacyCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory {
        switch scalar.value {
        case 0x111C9, 0x166D: return .otherPunctuation
        case 0x1734, 0x1171E: return .nonspacingMark
        case 0x1885, 0x1886: return .otherLetter
        case 0xA9BD: return .spacingMark
        default: break
        }
        guard let age = scalar.properties.age, age.major < 8 || (age.major == 8 && age.minor == 0) else {
            return .unassigned
        }
        return scalar.properties.generalCategory
    }

    /// Control, format, surrogate or private-use (unassigned characters are kept, as Hugging Face does); TAB, LF and
    /// CR count as whitespace instead.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch legacyCategory(scalar) {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    /// BERT punctuation: ASCII 33–47, 58–64, 91–96, 123–126, or a Unicode P* character.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        default: break
        }
        switch legacyCategory(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Canonical decomposition (NFD) as Hugging Face's tables know it: U+11938 (Unicode 13) stays composed.
    static func decompose(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.allSatisfy(\.isASCII) { return text }
        guard text.contains("\u{11938}") else {
            return Array(String(String.UnicodeScalarView(text)).decomposedStringWithCanonicalMapping.unicodeScalars)
        }
        var out: [Unicode.Scalar] = []
        for (index, piece) in text.split(separator: "\u{11938}", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { out.append("\u{11938}") }
            out += decompose(Array(piece))
        }
        return out
    }

    /// `BertNormalizer`: clean, pad CJK, then (if lower-casing) strip accents and lower-case.
    func normalize(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for scalar in text {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                out.append(" ")
            } else if Self.isChineseCharacter(scalar.value) {
                out += [" ", scalar, " "]
            } else {
                out.append(scalar)
            }
        }
        guard lowercase else { return out }
        if !out.allSatisfy(\.isASCII) {
            out = Self.decompose(out).filter { Self.legacyCategory($0) != .nonspacingMark }
        }
        var lowered: [Unicode.Scalar] = []
        lowered.reserveCapacity(out.count)
        for scalar in out {
            if scalar.isASCII {
                lowered.append(
                    scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else {
                lowered += scalar.properties.lowercaseMapping.unicodeScalars
            }
        }
        return lowered
    }

    /// `BertPreTokenizer`: whitespace separates words; each punctuation character is a word of its own.
    func preTokenize(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in text {
            if scalar.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current = [] }
            } else if Self.isPunctuation(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Greedy longest-match-first WordPiece of one word.
    func wordPiece(_ word: [Unicode.Scalar]) -> [Int32] {
        guard word.count <= maxCharactersPerWord else { return [unknownID] }
        // UTF-8 bytes of the word, and the byte offset where each character starts (plus the end).
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        for scalar in word {
            offsets.append(bytes.count)
            bytes += UTF8.encode(scalar)!
        }
        offsets.append(bytes.count)
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while end > start {
                let piece = bytes[offsets[start]..<offsets[end]]
                let candidate = start > 0 ? [0x23, 0x23] + piece : Array(piece)
                if let id = vocabulary[candidate] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }
}
