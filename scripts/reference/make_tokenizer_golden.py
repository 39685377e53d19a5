#!/usr/bin/env python3
"""Generate SatSeek's tokenizer reference (golden) file.

Run once from the repository root, after installing the text assets; the
output is committed and read by the Swift tests (SatSeekTextTests), which
never run Python themselves:

    .venv-ref/bin/pip install --no-deps open_clip_torch sentence-transformers
    .venv-ref/bin/pip install -c <(echo torch==2.13.0+cpu) ftfy regex transformers  # keep torch
    swift build --product satseek
    .build/debug/satseek models install all-minilm-l6-v2
    .venv-ref/bin/python scripts/reference/make_tokenizer_golden.py

Writes Tests/SatSeekTextTests/Golden/tokenizer-golden.json:

    {"generator": ..., "versions": {...}, "clip_context_length": 77, "bert_max_length": 256,
     "cases": [{"text": ..., "clip": [...], "bert": [...]}, ...]}

  clip  open_clip.tokenize(text)[0] (default SimpleTokenizer, clean="lower",
        bpe_simple_vocab_16e6.txt.gz shipped with open_clip) with the trailing
        zero padding removed (the last kept id is always <end_of_text>).
  bert  input_ids of transformers.AutoTokenizer loaded from the
        all-MiniLM-L6-v2 model folder (the one `satseek models install
        all-minilm-l6-v2` extracts; --minilm-dir overrides), called with
        truncation=True, max_length=256 as sentence-transformers does.

open_clip's tokenizer module is loaded straight from its file so that the
package's __init__ (which needs torchvision/timm) is never imported.
"""

import argparse
import importlib.util
import json
import os
import sys


def _load_open_clip_tokenizer():
    spec = importlib.util.find_spec("open_clip")
    folder = os.path.dirname(spec.origin)
    module_spec = importlib.util.spec_from_file_location(
        "open_clip_tokenizer_standalone", os.path.join(folder, "tokenizer.py"))
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


SCENES = [
    "airport", "bare land", "baseball field", "beach", "bridge", "center", "church",
    "commercial area", "dense residential", "desert", "farmland", "forest", "industrial",
    "meadow", "medium residential", "mountain", "park", "parking lot", "playground", "pond",
    "port", "railway station", "resort", "river", "school", "sparse residential", "square",
    "stadium", "storage tanks", "viaduct",
]
TEMPLATES = [
    "a satellite photo of a {}.",
    "An aerial image of the {} taken from above",
    "{} seen from space",
    "Top-down view: {}!",
]

HAND_WRITTEN = [
    # remote-sensing queries
    "airport runway with parked planes",
    "Center-pivot irrigation fields in Kansas",
    "solar farm next to a highway interchange",
    "cloud-free Sentinel-2 L2A scene over the Alps",
    "Landsat8 false colour composite, bands 5/4/3",
    "WorldView-3 30cm pan-sharpened imagery",
    "NDVI > 0.6 (dense vegetation)",
    "SAR-imagery of flooded rice paddies",
    "ships docked in a harbour near containers",
    "a golf course by the sea with sand bunkers",
    "oil storage tanks; circular, white roofs",
    "mobile-home park", "freeway overpass", "tennis courts x4",
    "DenseResidential", "denseResidential_042.jpg", "UCMerced_LandUse/Images/airplane/airplane00.tif",
    "EuroSAT: AnnualCrop, HerbaceousVegetation, SeaLake",
    # punctuation
    "hello, world!", "what's up?", "(parentheses) [brackets] {braces} <angles>",
    "a/b\\c|d", "e-mail@example.com", "http://example.com/path?q=1&x=2#frag",
    "#hashtag @user", "...", "!!!???", "~`^_|", "C++ & C#", "50% off", "$3.50 or €4,20 or £5 or ¥600",
    "--double--dash", "«guillemets» „low quotes“", "—em dash– en dash", "semi;colon:colon",
    "under_score_words", "quote \"double\" 'single'", "¿Dónde está? ¡Aquí!",
    # numbers
    "1,000,000", "3.14159", "10:30 am", "2023-07-14T12:00:00Z", "A-10", "B52", "covid19",
    "x86_64", "iPhone15Pro", "R2-D2", "4K UHD", "1st 2nd 3rd 4th", "E = mc^2", "½ ¼ ¾", "x² + y³",
    "Ⅻ roman numeral", "٣ arabic-indic digit", "१२३ devanagari digits", "0123456789",
    "12345678901234567890",
    # contractions
    "it's", "don't", "I'm", "we're", "they've", "you'll", "he'd", "IT'S", "DON'T", "We'Ll",
    "Rock 'n' roll", "'s", "o'clock", "'hello'", "students' books", "can't won't shan't",
    "it’s curly", "the ſ long s 'ſ", "'sa 'tt 'rem 'vex 'mm 'lll 'dd",
    # accents and scripts
    "café", "naïve résumé", "Ångström", "São Paulo", "Zürich", "Ελληνικά ΟΔΟΣ ΟΔΟΣ.",
    "Σ alone, ΑΣ, ΑΣΑ", "Москва река", "Київ", "東京タワー", "北京首都国际机场", "서울 공항",
    "مطار دبي الدولي", "עברית", "हिन्दी नदी", "ภาษาไทย", "Tiếng Việt", "ქართული", "Ⓐⓑⓒ",
    "İstanbul", "straße STRASSE", "ǅemal ǈ ǋ", "ĳsselmeer Ĳ", "ŉ",
    "e\u0301 combining acute", "A\u030angstrom decomposed", "Z\u0335a\u0337l\u0334g\u0336o",
    # emoji and symbols
    "🛰️ satellite", "🚀🌍🌕", "👨‍👩‍👧 family", "🇺🇸 flag 🇩🇪", "👍🏽 thumbs", "♥ ★ ☂ ✈",
    "→ ← ↑ ↓", "∑ ∫ √ ∞ ≠ ≤", "°C 25°", "™ © ®", "µm μm", "Å unit",
    # ftfy fixes
    "ﬁeld ﬂow ﬃ ﬀ ﬄ ﬅ ﬆ", "ＬＯＵＤ　ＮＯＩＳＥＳ", "Ｕﾀｰﾝ", "ｆｕｌｌ－ｗｉｄｔｈ １２３",
    "“quoted” ‘single’", "‛reversed‟ ‚low‚", "ʼapostrophe modifier",
    "\x1b[31mred text\x1b[0m", "bell\x07char", "\ufeffBOM at start", "back\x08space",
    "\u206adeprecated\u206f", "obj\ufffcreplacement", "ann\ufff9otation\ufffb",
    # HTML
    "&amp; &lt; &gt; &quot; &#39; &#x27;", "&amplifier", "&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b> &amp; &eacute;",
    "&eacute; &EACUTE; &Eacute;", "&nbsp;non&nbsp;breaking", "&hellip; &mdash; &ndash;", "&#128640; rocket",
    "&#0; zero", "&#x110000; too big", "&#150; cp1252", "&copy 2020", "AT&T", "&amp;amp; double",
    "&amp;lt;tag&amp;gt;", "&#x2019;s curly via entity", "&ldquo;entity quotes&rdquo;",
    "x &lt; y and &ldquo;z&rdquo;", "&NTILDE; &nTILDE; &Ntilde;", "&SZLIG;", "&AMP; &LT;",
    "P&EACUTE;REZ", "&#65;&#x42;&#X43;", "&#65 no semicolon", "&unknownentity; &;",
    "&lt", "&gt&lt", "&ampxyz;",
    # whitespace and control characters
    "a\tb\nc\r\nd\re", "line1\u2028line2\u2029line3", "  leading and trailing  ", "\u00a0nbsp\u00a0",
    "zero\u200bwidth", "soft\u00adhyphen", "ideographic\u3000space", "em\u2003space", "\x0bvertical\x0ctab",
    "file\x1cseparator\x1fs", "next\x85line", "c1\x80\x9fcontrols", "", " ", "\n\n", "\t",
    "multi\n\n\nline <i>html</i>\n&amp; after", "&amp; before\n<b>tag</b>",
    # special tokens inside the text
    "<start_of_text>", "a <end_of_text> b", "<START_OF_TEXT>x", "<start_of_text><end_of_text>",
    "[CLS] [SEP] [MASK] [PAD] [UNK]", "find [MASK] here", "a[SEP]b", "[cls] lowercase", "[MASK",
    # long words
    "a" * 120, "supercalifragilisticexpialidocious", "x" * 101, "y" * 100, "antidisestablishmentarianism " * 3,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
]

LONG_SENTENCE = ("A high-resolution aerial photograph showing a dense residential neighbourhood with "
                 "red-tiled roofs, narrow streets, small gardens, parked cars and a school playground; ")


def build_cases():
    texts = [t.format(s) for s in SCENES for t in TEMPLATES[:2]]
    texts += [TEMPLATES[2].format(s) for s in SCENES[::3]] + [TEMPLATES[3].format(s) for s in SCENES[1::3]]
    texts += HAND_WRITTEN
    texts += [
        LONG_SENTENCE * 3,  # > 77 CLIP tokens
        LONG_SENTENCE * 12,  # > 256 word pieces
        " ".join(str(i) for i in range(400)),
        "🚀" * 50,
        "東京" * 200,
    ]
    seen = set()
    unique = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return unique


def _versions():
    from importlib.metadata import version
    return {name: version(name) for name in ["open_clip_torch", "ftfy", "regex", "transformers", "tokenizers"]} | {
        "python": sys.version.split()[0]}


def main():
    default_store = os.environ.get("SATSEEK_MODEL_DIR") or os.path.expanduser("~/.cache/satseek/models")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minilm-dir", default=os.path.join(default_store, "all-minilm-l6-v2"))
    parser.add_argument("--out", default="Tests/SatSeekTextTests/Golden/tokenizer-golden.json")
    args = parser.parse_args()

    clip = _load_open_clip_tokenizer()
    from transformers import AutoTokenizer
    bert = AutoTokenizer.from_pretrained(args.minilm_dir)

    cases = []
    for text in build_cases():
        ids = clip.tokenize(text)[0].tolist()
        while ids and ids[-1] == 0:
            ids.pop()
        bert_ids = bert(text, truncation=True, max_length=256)["input_ids"]
        cases.append({"text": text, "clip": ids, "bert": bert_ids})

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/reference/make_tokenizer_golden.py", "versions": _versions(),
                   "clip_context_length": 77, "bert_max_length": 256, "cases": cases}, f,
                  ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
