#!/usr/bin/env python3
"""Reference outputs for SatSeek's CLIP family (vision transformer + text transformer).

No CLIP weights can be downloaded here, so this builds *tiny random-weight* CLIP models with the two
reference implementations and saves them in their own checkpoint namings:

  * open_clip `CLIP` (OpenAI / OpenCLIP naming: `visual.transformer.resblocks.N.attn.in_proj_weight`,
    `token_embedding.weight`, `text_projection`, ...), QuickGELU, saved with torch.save (zip format) as
    `open_clip_pytorch_model.bin` beside an `open_clip_config.json` (the layout of OpenCLIP hub repos);
  * Hugging Face `transformers.CLIPModel` (`vision_model.encoder.layers.N.self_attn.q_proj`, ...), exact
    GELU in the vision tower and QuickGELU in the text tower, saved by `save_pretrained` as
    `model.safetensors` + `config.json`.

Both use the real 49 408-token vocabulary (so SatSeek's BPE tokenizer feeds them) with small widths
(vision 64, 2 layers, 2 heads, patch 8, image 32; text 32, 2 layers, 2 heads; embedding 32). Weights are
stored as float16 to keep the committed files small; references are computed from the same rounded
weights in float32. Every parameter gets random noise (also LayerNorm gains/biases and the class and
positional embeddings), so nothing is an identity by accident.

    .venv-ref/bin/pip install open_clip_torch ftfy regex transformers
    .venv-ref/bin/pip install --no-deps torchvision==0.28.0
    .venv-ref/bin/python scripts/reference/make_clip_golden.py             # committed test fixtures
    .venv-ref/bin/python scripts/reference/make_clip_golden.py --full /tmp/clip-vit-b32-random.bin

`--full PATH` writes a full-size random ViT-B/32 (OpenAI naming, QuickGELU; not committed) for
`satseek bench embed --model clip:PATH`.

Outputs under Tests/SatSeekModelsTests/Golden/clip-tiny/: openclip/, hf/, reference.json
(image embeddings for 4 shared images preprocessed the open_clip way — bicubic resize of the short side,
centre crop, OpenAI mean/std — and text embeddings for 20 sentences, unnormalised, plus the token ids
and the preprocessed pixels of the first image).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import torch_compat  # noqa: E402,F401  (before open_clip / transformers)
from make_golden import resolve, sig6_list  # noqa: E402

OUT_DIR = os.path.join("Tests", "SatSeekModelsTests", "Golden", "clip-tiny")
IMAGES = [
    "../shared/datasets/aid-mini/Port/port_5.jpg",
    "../shared/datasets/aid-mini/Forest/forest_3.jpg",
    "../shared/datasets/aid-mini/Stadium/stadium_1.jpg",
    "../shared/datasets/rsscn7-mini/aGrass/a001.jpg",
]
SENTENCES = [
    "ships docked in a harbor",
    "red ship floating on the ocean",
    "stadium",
    "an aerial photo of a dense residential area",
    "satellite image showing a forest",
    "a baseball field next to a parking lot",
    "Airport runway with two planes!",
    "storage tanks near an industrial zone",
    "a river crossing farmland, seen from above",
    "bare land",
    "the church's roof and a small square",
    "a viaduct over a road",
    "beach with waves; sand and water",
    "desert dunes at sunset",
    "pond surrounded by trees",
    "railway station with many tracks",
    "playground & school",
    "mountain ridge with snow (winter)",
    "commercial buildings downtown, 2019",
    "",
]
TINY = dict(
    embed_dim=32,
    vision=dict(width=64, layers=2, heads=2, patch=8, image=32),
    text=dict(width=32, layers=2, heads=2, context=77, vocab=49408),
)
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def perturb_and_round(model, seed):
    """Random noise on every parameter, then round to float16 (what gets saved)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * (0.1 if p.ndim == 1 else 0.02)
            p.add_(noise)
            p.copy_(p.half().float())


def openclip_model():
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    v, t = TINY["vision"], TINY["text"]
    vision_cfg = dict(width=v["width"], layers=v["layers"], head_width=v["width"] // v["heads"],
                      patch_size=v["patch"], image_size=v["image"])
    text_cfg = dict(width=t["width"], layers=t["layers"], heads=t["heads"], context_length=t["context"],
                    vocab_size=t["vocab"])
    torch.manual_seed(1)
    model = CLIP(embed_dim=TINY["embed_dim"], vision_cfg=CLIPVisionCfg(**vision_cfg),
                 text_cfg=CLIPTextCfg(**text_cfg), quick_gelu=True).eval()
    perturb_and_round(model, 11)
    config = {"model_cfg": {"embed_dim": TINY["embed_dim"], "quick_gelu": True,
                            "vision_cfg": vision_cfg, "text_cfg": text_cfg},
              "preprocess_cfg": {"mean": list(OPENAI_MEAN), "std": list(OPENAI_STD),
                                 "interpolation": "bicubic", "resize_mode": "shortest"}}
    return model, config


def hf_model():
    from transformers import CLIPConfig, CLIPModel

    v, t = TINY["vision"], TINY["text"]
    config = CLIPConfig(
        text_config=dict(vocab_size=t["vocab"], hidden_size=t["width"], intermediate_size=4 * t["width"],
                         num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
                         max_position_embeddings=t["context"], hidden_act="quick_gelu",
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=1),
        vision_config=dict(hidden_size=v["width"], intermediate_size=4 * v["width"],
                           num_hidden_layers=v["layers"], num_attention_heads=v["heads"],
                           image_size=v["image"], patch_size=v["patch"], hidden_act="gelu"),
        projection_dim=TINY["embed_dim"])
    torch.manual_seed(2)
    model = CLIPModel(config).eval()
    perturb_and_round(model, 22)
    return model


def preprocess_images(image_size):
    from open_clip.transform import image_transform
    from PIL import Image

    transform = image_transform(image_size, is_train=False, mean=OPENAI_MEAN, std=OPENAI_STD)
    return torch.stack([transform(Image.open(resolve(p)).convert("RGB")) for p in IMAGES])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", metavar="PATH", help="write a full-size random ViT-B/32 (OpenAI naming) and exit")
    args = parser.parse_args()
    import open_clip

    if args.full:
        model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None).eval()
        torch.save(model.state_dict(), args.full)
        print(f"wrote {args.full}")
        return

    tokens = open_clip.tokenize(SENTENCES)
    pixels = preprocess_images(TINY["vision"]["image"])

    oc, oc_config = openclip_model()
    hf = hf_model()
    with torch.no_grad():
        oc_image = oc.encode_image(pixels)
        oc_text = oc.encode_text(tokens)
        hf_image = hf.get_image_features(pixel_values=pixels)
        hf_text = hf.get_text_features(input_ids=tokens)
        if not isinstance(hf_image, torch.Tensor):  # newer transformers return an output object
            hf_image, hf_text = hf_image.pooler_output, hf_text.pooler_output

    oc_dir = os.path.join(OUT_DIR, "openclip")
    hf_dir = os.path.join(OUT_DIR, "hf")
    os.makedirs(oc_dir, exist_ok=True)
    os.makedirs(hf_dir, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in oc.state_dict().items()},
               os.path.join(oc_dir, "open_clip_pytorch_model.bin"))
    with open(os.path.join(oc_dir, "open_clip_config.json"), "w") as f:
        json.dump(oc_config, f, indent=1)
    hf.half().save_pretrained(hf_dir, safe_serialization=True)

    reference = {
        "images": IMAGES,
        "sentences": SENTENCES,
        "tokens": [[int(i) for i in row if i != 0] for row in tokens],
        "pixels_first_image": sig6_list(pixels[0]),
        "openclip": {"image": [sig6_list(r) for r in oc_image], "text": [sig6_list(r) for r in oc_text]},
        "hf": {"image": [sig6_list(r) for r in hf_image], "text": [sig6_list(r) for r in hf_text]},
        "versions": {"torch": torch.__version__, "open_clip": open_clip.__version__,
                     "transformers": __import__("transformers").__version__},
    }
    with open(os.path.join(OUT_DIR, "reference.json"), "w") as f:
        json.dump(reference, f)
    print("wrote", OUT_DIR)


if __name__ == "__main__":
    main()
