import Foundation

/// Errors embedding a sentence.
public enum SentenceEncoderError: Error, CustomStringConvertible {
    case emptyTokens
    case tooLong(Int, maximum: Int)
    case tokenOutOfVocabulary(Int, vocabulary: Int)

    public var description: String {
        switch self {
        case .emptyTokens: return "no tokens to embed"
        case let .tooLong(n, maximum): return "\(n) tokens exceed the model's \(maximum) positions"
        case let .tokenOutOfVocabulary(id, vocabulary):
            return "token id \(id) is outside the vocabulary of \(vocabulary): tokenizer and model do not match"
        }
    }
}
