import Foundation

/// Errors embedding text with CLIP.
public enum CLIPTextError: Error, CustomStringConvertible {
    case emptyTokens
    case tokenOutOfVocabulary(Int, vocabulary: Int)

    public var description: String {
        switch self {
        case .emptyTokens: return "no tokens to embed"
        case let .tokenOutOfVocabulary(id, vocabulary):
            return
                "token id \(id) is outside the model's vocabulary of \(vocabulary): tokenizer and checkpoint do not match"
        }
    }
}
