import Foundation

/// CLIP's pre-tokenisation: the matches of
/// `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (case-insensitive),
/// evaluated on Unicode scalars (code points) exactly as Python's `regex.findall` does, without a regex engine.
struct CLIPPreTokenizer: Sendable {
    /// Special-token strings matched first, in order (lower case).
    let specials: [[Unicode.Scalar]]

    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map {
        Array($0.unicodeScalars)
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// Case-insensitive equality of a text scalar with a pattern scalar (ASCII, lower case), by simple case folding.
    private static func matches(_ text: Unicode.Scalar, _ pattern: Unicode.Scalar) -> Bool {
        if text == pattern { return true }
        switch pattern {
        case "a"..."z":
            return text.value == pattern.value - 32 || (pattern == "s" && text == "\u{17F}")
                || (pattern == "k" && text == "\u{212A}")
        default:
            return false
        }
    }

    private static func hasPrefix(_ text: [Unicode.Scalar], at index: Int, _ pattern: [Unicode.Scalar]) -> Bool {
        guard index + pattern.count <= text.count else { return false }
        for k in 0..<pattern.count where !matches(text[index + k], pattern[k]) { return false }
        return true
    }

    /// The pre-tokens of `text` (already cleaned and lower-cased), each as a range of scalars.
    func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        let n = text.count
        var i = 0
        scan: while i < n {
            for pattern in specials where Self.hasPrefix(text, at: i, pattern) {
                pieces.append(text[i..<(i + pattern.count)])
                i += pattern.count
                continue scan
            }
            if text[i] == "'" {
                for pattern in Self.contractions where Self.hasPrefix(text, at: i, pattern) {
                    pieces.append(text[i..<(i + pattern.count)])
                    i += pattern.count
                    continue scan
                }
            }
            let scalar = text[i]
            var j = i + 1
            if Self.isLetter(scalar) {
                while j < n, Self.isLetter(text[j]) { j += 1 }
            } else if Self.isNumber(scalar) {
                // a single number character
            } else if !Self.isSpace(scalar) {
                while j < n, !Self.isSpace(text[j]), !Self.isLetter(text[j]), !Self.isNumber(text[j]) { j += 1 }
            } else {
                i += 1
                continue
            }
            pieces.append(text[i..<j])
            i = j
        }
        return pieces
    }
}

/// GPT-2 / CLIP `bytes_to_unicode`: a printable character standing for each byte value.
enum ByteLevel {
    /// The bytes in vocabulary order: the printable ranges first (`!`…`~`, `¡`…`¬`, `®`…`ÿ`), then the rest.
    static let order: [UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let rest = (0...255).filter { !printable.contains($0) }
        return (printable + rest).map { UInt8($0) }
    }()

    /// The character for each byte value.
    static let character: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in order {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || byte >= 0xAE {
                table[Int(byte)] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[Int(byte)] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()
}
