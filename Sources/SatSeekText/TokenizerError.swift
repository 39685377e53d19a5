import Foundation

/// Errors loading tokenizer assets. Every case names the file involved and says what is wrong with it.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be read.
    case missingFile(URL)
    /// The file exists but is not a valid gzip stream.
    case badGzip(URL, reason: String)
    /// The file is not UTF-8 text.
    case notUTF8(URL)
    /// A BPE merges line does not hold exactly two symbols (`line` is 1-based).
    case malformedMerge(URL, line: Int, text: String)
    /// Fewer merges than the tokenizer needs.
    case tooFewMerges(URL, found: Int, expected: Int)
    /// A vocabulary file (vocab.json / vocab.txt) that cannot be parsed.
    case malformedVocabulary(URL, reason: String)
    /// A token the tokenizer needs is absent from the vocabulary.
    case missingToken(String, file: URL)
    /// A JSON configuration file that cannot be parsed.
    case malformedConfig(URL, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(url):
            return "tokenizer file \(url.path) does not exist or cannot be read"
        case let .badGzip(url, reason):
            return "\(url.path) is not a valid gzip file: \(reason)"
        case let .notUTF8(url):
            return "\(url.path) is not UTF-8 text"
        case let .malformedMerge(url, line, text):
            return
                "\(url.path): malformed merges line \(line) (expected two symbols separated by a space): \"\(text.prefix(80))\""
        case let .tooFewMerges(url, found, expected):
            return "\(url.path): holds \(found) merges, expected at least \(expected)"
        case let .malformedVocabulary(url, reason):
            return "\(url.path): malformed vocabulary: \(reason)"
        case let .missingToken(token, url):
            return "\(url.path): the vocabulary has no \(token) token"
        case let .malformedConfig(url, reason):
            return "\(url.path): malformed configuration: \(reason)"
        }
    }
}
