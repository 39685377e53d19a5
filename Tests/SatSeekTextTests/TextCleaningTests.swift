import Foundation
import Testing
import SatSeekText

/// open_clip's `clean="lower"` text clean-up (ftfy subset + html.unescape + whitespace + lower).
@Suite struct TextCleaningTests {
    @Test(arguments: [
        ("  Hello\t\tWorld \n", "hello world"),
        ("&amp;lt;b&amp;gt;", "<b>"),  // ftfy repeats unescaping until nothing changes
        ("&amplifier &copy 2020", "&lifier © 2020"),  // Python html.unescape's legacy prefix rule
        ("P&EACUTE;REZ &SZLIG;", "pérez ss"),  // ftfy's upper-case entities
        ("ﬁeld ﬂow", "field flow"),
        ("ＬＯＵＤ　ＮＯＩＳＥＳ", "loud noises"),
        ("“quoted” ‘single’", "\"quoted\" 'single'"),
        ("\u{1B}[31mred\u{1B}[0m", "red"),
        ("ΟΔΟΣ ΟΔΟΣ.", "οδος οδος."),  // final sigma
        ("e\u{301}", "\u{E9}"),  // NFC
        ("\u{FEFF}bom\u{7}", "bom"),
        ("x &lt; y\n&amp; z", "x < y & z")
    ])
    func clipClean(_ input: String, _ expected: String) {
        #expect(Array(TextFixer.clipClean(input).unicodeScalars) == Array(expected.unicodeScalars))
    }

    @Test func ftfyLeavesHTMLAloneAfterATag() {
        // From the first line containing "<", ftfy does not unescape (html.unescape later still does).
        #expect(TextFixer.fixText("<b>&ldquo;x&rdquo;</b>") == "<b>&ldquo;x&rdquo;</b>")
        #expect(TextFixer.fixText("&ldquo;x&rdquo;") == "\"x\"")
        #expect(TextFixer.clipClean("<b>&ldquo;x&rdquo;</b>") == "<b>\u{201C}x\u{201D}</b>")
    }
}
