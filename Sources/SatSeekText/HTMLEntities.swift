import Foundation

/// HTML character references, decoded the way Python's `html.unescape` and ftfy's `unescape_html` do.
///
/// Named references are limited to the HTML 4 set (252 names, with their HTML5 values) plus the upper-case
/// aliases HTML5 defines for them (`&AMP;`, `&COPY;`, `&GT;`, `&LT;`, `&QUOT;`, `&REG;`, `&TRADE;`); the
/// 106 legacy names HTML5 also accepts without a semicolon (`&amp`, `&eacute`, …) are honoured as Python does.
/// HTML5-only names such as `&checkmark;` are left undecoded. Numeric references are fully supported.
enum HTMLEntities {
    /// `name!HEX` = also valid without `;` (legacy); `name=HEX` = only with `;`.
    private static let table = """
        AElig!C6 AMP!26 Aacute!C1 Acirc!C2 Agrave!C0 Alpha=391 Aring!C5 Atilde!C3 Auml!C4 Beta=392 COPY!A9 Ccedil!C7
        Chi=3A7 Dagger=2021 Delta=394 ETH!D0 Eacute!C9 Ecirc!CA Egrave!C8 Epsilon=395 Eta=397 Euml!CB GT!3E Gamma=393
        Iacute!CD Icirc!CE Igrave!CC Iota=399 Iuml!CF Kappa=39A LT!3C Lambda=39B Mu=39C Ntilde!D1 Nu=39D OElig=152
        Oacute!D3 Ocirc!D4 Ograve!D2 Omega=3A9 Omicron=39F Oslash!D8 Otilde!D5 Ouml!D6 Phi=3A6 Pi=3A0 Prime=2033
        Psi=3A8 QUOT!22 REG!AE Rho=3A1 Scaron=160 Sigma=3A3 THORN!DE TRADE=2122 Tau=3A4 Theta=398 Uacute!DA Ucirc!DB
        Ugrave!D9 Upsilon=3A5 Uuml!DC Xi=39E Yacute!DD Yuml=178 Zeta=396 aacute!E1 acirc!E2 acute!B4 aelig!E6
        agrave!E0 alefsym=2135 alpha=3B1 amp!26 and=2227 ang=2220 aring!E5 asymp=2248 atilde!E3 auml!E4 bdquo=201E
        beta=3B2 brvbar!A6 bull=2022 cap=2229 ccedil!E7 cedil!B8 cent!A2 chi=3C7 circ=2C6 clubs=2663 cong=2245 copy!A9
        crarr=21B5 cup=222A curren!A4 dArr=21D3 dagger=2020 darr=2193 deg!B0 delta=3B4 diams=2666 divide!F7 eacute!E9
        ecirc!EA egrave!E8 empty=2205 emsp=2003 ensp=2002 epsilon=3B5 equiv=2261 eta=3B7 eth!F0 euml!EB euro=20AC
        exist=2203 fnof=192 forall=2200 frac12!BD frac14!BC frac34!BE frasl=2044 gamma=3B3 ge=2265 gt!3E hArr=21D4
        harr=2194 hearts=2665 hellip=2026 iacute!ED icirc!EE iexcl!A1 igrave!EC image=2111 infin=221E int=222B
        iota=3B9 iquest!BF isin=2208 iuml!EF kappa=3BA lArr=21D0 lambda=3BB lang=27E8 laquo!AB larr=2190 lceil=2308
        ldquo=201C le=2264 lfloor=230A lowast=2217 loz=25CA lrm=200E lsaquo=2039 lsquo=2018 lt!3C macr!AF mdash=2014
        micro!B5 middot!B7 minus=2212 mu=3BC nabla=2207 nbsp!A0 ndash=2013 ne=2260 ni=220B not!AC notin=2209 nsub=2284
        ntilde!F1 nu=3BD oacute!F3 ocirc!F4 oelig=153 ograve!F2 oline=203E omega=3C9 omicron=3BF oplus=2295 or=2228
        ordf!AA ordm!BA oslash!F8 otilde!F5 otimes=2297 ouml!F6 para!B6 part=2202 permil=2030 perp=22A5 phi=3C6 pi=3C0
        piv=3D6 plusmn!B1 pound!A3 prime=2032 prod=220F prop=221D psi=3C8 quot!22 rArr=21D2 radic=221A rang=27E9
        raquo!BB rarr=2192 rceil=2309 rdquo=201D real=211C reg!AE rfloor=230B rho=3C1 rlm=200F rsaquo=203A rsquo=2019
        sbquo=201A scaron=161 sdot=22C5 sect!A7 shy!AD sigma=3C3 sigmaf=3C2 sim=223C spades=2660 sub=2282 sube=2286
        sum=2211 sup=2283 sup1!B9 sup2!B2 sup3!B3 supe=2287 szlig!DF tau=3C4 there4=2234 theta=3B8 thetasym=3D1
        thinsp=2009 thorn!FE tilde=2DC times!D7 trade=2122 uArr=21D1 uacute!FA uarr=2191 ucirc!FB ugrave!F9 uml!A8
        upsih=3D2 upsilon=3C5 uuml!FC weierp=2118 xi=3BE yacute!FD yen!A5 yuml!FF zeta=3B6 zwj=200D zwnj=200C
        """

    /// Python's `html.entities.html5` restricted to the names above: keys with `;`, and legacy keys without.
    static let html5: [String: Unicode.Scalar] = {
        var result: [String: Unicode.Scalar] = [:]
        for item in table.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let legacy = item.contains("!")
            let parts = item.split(whereSeparator: { $0 == "!" || $0 == "=" })
            let name = String(parts[0])
            let scalar = Unicode.Scalar(UInt32(parts[1], radix: 16)!)!
            result[name + ";"] = scalar
            if legacy { result[name] = scalar }
        }
        return result
    }()

    /// ftfy's `HTML_ENTITIES` (keys without the leading `&`): every `name;` above, plus the upper-cased form of each
    /// lower-case name when `html.unescape` leaves that form alone (`&EACUTE;` → "É", `&SZLIG;` → "SS").
    static let ftfy: [String: [Unicode.Scalar]] = {
        var result: [String: [Unicode.Scalar]] = [:]
        for (name, scalar) in html5 where name.hasSuffix(";") {
            result[name] = [scalar]
        }
        for (name, scalar) in html5 where name.hasSuffix(";") && name == name.lowercased() {
            let upper = name.uppercased()
            let reference = Array(("&" + upper).unicodeScalars)
            if unescape(reference) == reference {
                result[upper] = Array(String(scalar).uppercased().unicodeScalars)
            }
        }
        return result
    }()

    /// Windows-1252 meanings of 0x80…0x9F (the five undefined bytes map to themselves), as used by Python's
    /// `html.unescape` for `&#128;`… and by ftfy's `fix_c1_controls` ("sloppy-windows-1252").
    static let windows1252: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D,
        0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E,
        0x178
    ]

    // MARK: Python html.unescape

    private static func isASCIIDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
    private static func hexValue(_ s: Unicode.Scalar) -> UInt32? {
        switch s.value {
        case 0x30...0x39: return s.value - 0x30
        case 0x41...0x46: return s.value - 0x41 + 10
        case 0x61...0x66: return s.value - 0x61 + 10
        default: return nil
        }
    }

    /// The character(s) a numeric reference stands for, by the rules of Python's `html.unescape`.
    private static func numericReference(_ value: UInt32) -> [Unicode.Scalar] {
        switch value {
        case 0: return ["\u{FFFD}"]
        case 0x0D: return ["\r"]
        case 0x80...0x9F: return [Unicode.Scalar(windows1252[Int(value - 0x80)])!]
        case 0xD800...0xDFFF, 0x110000...: return ["\u{FFFD}"]
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0xFDD0...0xFDEF: return []
        default:
            if value & 0xFFFE == 0xFFFE { return [] }  // U+xFFFE / U+xFFFF non-characters
            return [Unicode.Scalar(value)!]
        }
    }

    /// Python's `html.unescape`: decodes `&#NNN;`, `&#xHHH;` (the `;` optional) and named references, choosing the
    /// longest legacy name that prefixes an unknown name (`&amplifier` → "&lifier").
    static func unescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replacingReferences(in: text) { text, i, out in
            let n = text.count
            guard i + 1 < n else { out.append("&"); return i + 1 }
            if text[i + 1] == "#" {
                var j = i + 2
                var value: UInt32 = 0
                var digits = 0
                if j < n, isASCIIDigit(text[j]) {
                    while j < n, isASCIIDigit(text[j]) {
                        value = min(value * 10 + (text[j].value - 0x30), 0x110000); j += 1; digits += 1
                    }
                } else if j + 1 < n, text[j] == "x" || text[j] == "X", hexValue(text[j + 1]) != nil {
                    j += 1
                    while j < n, let h = hexValue(text[j]) {
                        value = min(value * 16 + h, 0x110000); j += 1; digits += 1
                    }
                }
                guard digits > 0 else { out.append("&"); return i + 1 }
                if j < n, text[j] == ";" { j += 1 }
                out += numericReference(value)
                return j
            }
            var j = i + 1
            while j < n, j - (i + 1) < 32, !"\t\n\u{0C} <&#;".unicodeScalars.contains(text[j]) { j += 1 }
            guard j > i + 1 else { out.append("&"); return i + 1 }
            if j < n, text[j] == ";" { j += 1 }
            let name = Array(text[(i + 1)..<j])
            if let scalar = html5[String(String.UnicodeScalarView(name))] {
                out.append(scalar)
                return j
            }
            var x = name.count - 1
            while x > 1 {
                if let scalar = html5[String(String.UnicodeScalarView(name[..<x]))] {
                    out.append(scalar)
                    out += name[x...]
                    return j
                }
                x -= 1
            }
            out.append("&")
            out += name
            return j
        }
    }

    /// Copies `text`, handing every `&` to `reference`, which appends what the reference at that index decodes to
    /// (or the text itself) and returns the index just after what it consumed (always past the `&`).
    private static func replacingReferences(
        in text: [Unicode.Scalar],
        _ reference: (_ text: [Unicode.Scalar], _ ampersand: Int, _ out: inout [Unicode.Scalar]) -> Int
    ) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == "&" {
                i = reference(text, i, &out)
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    // MARK: ftfy unescape_html

    private static func isASCIIAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        isASCIIDigit(s) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }

    /// ftfy's `unescape_html`: replaces `&name;` / `&#…;` (1–24 ASCII letters or digits, `;` required) when the
    /// name is known or the numeric reference decodes completely; anything else is left as it is.
    static func ftfyUnescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replacingReferences(in: text) { text, i, out in
            let n = text.count
            var j = i + 1
            if j < n, text[j] == "#" { j += 1 }
            let start = j
            while j < n, isASCIIAlphanumeric(text[j]) { j += 1 }
            let length = j - start
            guard length >= 1, length <= 24, j < n, text[j] == ";" else { out.append("&"); return i + 1 }
            let reference = Array(text[i...j])
            if let value = ftfy[String(String.UnicodeScalarView(reference.dropFirst()))] {
                out += value
            } else if reference[1] == "#" {
                let decoded = unescape(reference)
                out += decoded.contains(";") ? reference : decoded
            } else {
                out += reference
            }
            return j + 1
        }
    }
}
