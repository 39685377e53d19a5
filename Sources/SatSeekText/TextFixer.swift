import Foundation

/// The text clean-up CLIP applies before tokenising: a port of the practical part of `ftfy.fix_text` (ftfy 6,
/// default settings) followed by open_clip's `basic_clean` / `whitespace_clean` / `lower`.
///
/// Replicated from `ftfy.fix_text`, in ftfy's order and repeated per line until nothing changes:
/// - `unescape_html` (HTML 4 named references and all numeric ones; skipped from the first line that contains "<"
///   onwards, as ftfy's "auto" mode does),
/// - `fix_c1_controls` (U+0080…U+009F read as Windows-1252),
/// - `fix_latin_ligatures` (ﬁ → fi, ĳ → ij, ǅ → Dž, …),
/// - `fix_character_width` (full-width / half-width forms → their normal forms, U+3000 → space),
/// - `uncurl_quotes` (‘ ’ ‚ ‛ ʼ → ', “ ” „ ‟ → "),
/// - `fix_line_breaks` (CRLF, CR, U+2028, U+2029, U+0085 → LF),
/// - `remove_terminal_escapes` (ANSI `ESC [ … letter` sequences),
/// - `remove_control_chars` (C0 controls except TAB/LF/FF/CR, DEL, U+206A…U+206F, BOM, U+FFF9…U+FFFC),
/// - NFC normalisation.
///
/// Not replicated: ftfy's mojibake repair (`fix_encoding`, with `restore_byte_a0`, `replace_lossy_sequences` and
/// `decode_inconsistent_utf8`), which re-decodes text that looks like UTF-8 read in the wrong encoding
/// (e.g. "sÃ³" → "só"); `fix_surrogates` (Swift strings cannot hold lone surrogates); and HTML5-only named
/// references such as `&checkmark;` (see `HTMLEntities`). Clean text, and text with ordinary accents, scripts and
/// emoji, is not affected by these omissions.
///
/// Character data comes from Swift's Unicode tables, so characters assigned after Unicode 14 (the version of
/// Python 3.11's `unicodedata`, used by `lower()` and NFC) or in Unicode 17 (known to the `regex` module behind
/// `\p{L}` / `\p{N}`) can be cased or classified differently from the Python reference.
public enum TextFixer {
    typealias Scalars = [Unicode.Scalar]

    /// open_clip's `clean="lower"`: `whitespace_clean(basic_clean(text)).lower()`.
    public static func clipClean(_ text: String) -> String {
        var scalars = fixText(Array(text.unicodeScalars))
        scalars = HTMLEntities.unescape(HTMLEntities.unescape(scalars))
        // strip(), then " ".join(split()), then strip() — together just the split-and-join.
        let words = pythonSplit(scalars)
        var joined: Scalars = []
        for (index, word) in words.enumerated() {
            if index > 0 { joined.append(" ") }
            joined += word
        }
        return String(String.UnicodeScalarView(pythonLower(joined)))
    }

    /// The implemented subset of `ftfy.fix_text` (see the type's documentation).
    public static func fixText(_ text: String) -> String {
        String(String.UnicodeScalarView(fixText(Array(text.unicodeScalars))))
    }

    static func fixText(_ text: Scalars) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(text.count)
        var unescapeHTML = true
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count, text[end] != "\n" { end += 1 }
            end = min(end + 1, text.count)  // the segment keeps its "\n"
            var segment = Array(text[start..<end])
            if segment.contains("<") { unescapeHTML = false }
            while true {
                let original = segment
                if unescapeHTML { segment = HTMLEntities.ftfyUnescape(segment) }
                segment = fixC1Controls(segment)
                segment = mapScalars(segment) { ligatures[$0.value] }
                segment = mapScalars(segment) { widthMap[$0.value] }
                segment = mapScalars(segment, uncurl)
                segment = fixLineBreaks(segment)
                segment = removeTerminalEscapes(segment)
                segment.removeAll { isRemovedControl($0.value) }
                segment = nfc(segment)
                if segment == original { break }
            }
            out += segment
            start = end
        }
        return out
    }

    // MARK: ftfy fixers

    private static func mapScalars(_ text: Scalars, _ transform: (Unicode.Scalar) -> Scalars?) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(text.count)
        for scalar in text {
            if let replacement = transform(scalar) { out += replacement } else { out.append(scalar) }
        }
        return out
    }

    private static func fixC1Controls(_ text: Scalars) -> Scalars {
        mapScalars(text) { scalar in
            (0x80...0x9F).contains(scalar.value)
                ? [Unicode.Scalar(HTMLEntities.windows1252[Int(scalar.value - 0x80)])!] : nil
        }
    }

    private static let ligatures: [UInt32: Scalars] = {
        let pairs: [(UInt32, String)] = [
            (0x132, "IJ"), (0x133, "ij"), (0x149, "\u{2BC}n"), (0x1F1, "DZ"), (0x1F2, "Dz"), (0x1F3, "dz"),
            (0x1C4, "D\u{17D}"), (0x1C5, "D\u{17E}"), (0x1C6, "d\u{17E}"), (0x1C7, "LJ"), (0x1C8, "Lj"), (0x1C9, "lj"),
            (0x1CA, "NJ"), (0x1CB, "Nj"), (0x1CC, "nj"), (0xFB00, "ff"), (0xFB01, "fi"), (0xFB02, "fl"),
            (0xFB03, "ffi"), (0xFB04, "ffl"), (0xFB05, "\u{17F}t"), (0xFB06, "st")
        ]
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, Array($0.1.unicodeScalars)) })
    }()

    /// U+3000 → space, and every U+FF01…U+FFEF whose NFKC form differs from itself → that form.
    private static let widthMap: [UInt32: Scalars] = {
        var map: [UInt32: Scalars] = [0x3000: [" "]]
        for value in UInt32(0xFF01)..<0xFFF0 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let normal = Array(String(scalar).precomposedStringWithCompatibilityMapping.unicodeScalars)
            if normal != [scalar] { map[value] = normal }
        }
        return map
    }()

    private static func uncurl(_ scalar: Unicode.Scalar) -> Scalars? {
        switch scalar.value {
        case 0x2BC, 0x2018...0x201B: return ["'"]
        case 0x201C...0x201F: return ["\""]
        default: return nil
        }
    }

    private static func fixLineBreaks(_ text: Scalars) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            switch text[i].value {
            case 0x0D:
                out.append("\n")
                if i + 1 < text.count, text[i + 1] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85: out.append("\n")
            default: out.append(text[i])
            }
            i += 1
        }
        return out
    }

    /// Removes `ESC [ (digit | ;)* letter` (digits in the Unicode sense, as Python's `\d`).
    private static func removeTerminalEscapes(_ text: Scalars) -> Scalars {
        guard text.contains("\u{1B}") else { return text }
        var out: Scalars = []
        var i = 0
        while i < text.count {
            if text[i] == "\u{1B}", i + 1 < text.count, text[i + 1] == "[" {
                var j = i + 2
                while j < text.count, text[j] == ";" || text[j].properties.generalCategory == .decimalNumber { j += 1 }
                if j < text.count, text[j].isASCII, text[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    private static func isRemovedControl(_ value: UInt32) -> Bool {
        switch value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    static func nfc(_ text: Scalars) -> Scalars {
        if text.allSatisfy({ $0.isASCII }) { return text }
        return Array(String(String.UnicodeScalarView(text)).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    // MARK: Python str semantics

    /// Python's `str.isspace` (bidirectional class WS, B or S, or category Zs).
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `str.split()` with no arguments.
    static func pythonSplit(_ text: Scalars) -> [Scalars] {
        var words: [Scalars] = []
        var current: Scalars = []
        for scalar in text {
            if isPythonSpace(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Python's `str.lower()`: full lower-case mappings, with Σ → ς at the end of a word (Final_Sigma).
    static func pythonLower(_ text: Scalars) -> Scalars {
        var out: Scalars = []
        out.reserveCapacity(text.count)
        for (i, scalar) in text.enumerated() {
            if scalar.isASCII {
                out.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else if scalar == "\u{3A3}" {
                out.append(isFinalSigma(text, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out += scalar.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }

    private static func isFinalSigma(_ text: Scalars, at index: Int) -> Bool {
        var j = index - 1
        while j >= 0, text[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, text[j].properties.isCased else { return false }
        j = index + 1
        while j < text.count, text[j].properties.isCaseIgnorable { j += 1 }
        return j == text.count || !text[j].properties.isCased
    }
}
