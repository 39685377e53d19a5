#!/usr/bin/env python3
"""Reference outputs for SatSeek's modified-ResNet CLIP image tower (RN50-style: RemoteCLIP-RN50, OpenAI RN50).

Like make_clip_golden.py, this builds a *tiny random-weight* model with open_clip (OpenAI naming, QuickGELU) and
saves it with its open_clip_config.json: ResNet tower with stem width 8 (attention-pool width 256, 4 heads of 64),
stages of 2, 1, 1, 1 blocks (so a stride-1 block without a shortcut is exercised), image 64 px (a 2×2 final map),
embedding 32; the text tower is the ViT golden's (width 32, 2 layers, 2 heads, the real vocabulary). Every
parameter gets random noise and so do the batch-norm running statistics (variance kept positive), so nothing is
an identity by accident. Weights are stored as float16; references come from the same rounded weights.

    .venv-ref/bin/pip install open_clip_torch ftfy regex
    .venv-ref/bin/python scripts/reference/make_clip_rn_golden.py

Outputs under Tests/SatSeekModelsTests/Golden/clip-tiny/: openclip-rn/ and reference-rn.json (image embeddings
of the ViT golden's 4 images preprocessed the open_clip way at 64 px, text embeddings of its 20 sentences).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import torch_compat  # noqa: E402,F401  (before open_clip)
from make_clip_golden import IMAGES, OPENAI_MEAN, OPENAI_STD, SENTENCES, TINY, preprocess_images  # noqa: E402
from make_golden import sig6_list  # noqa: E402

OUT_DIR = os.path.join("Tests", "SatSeekModelsTests", "Golden", "clip-tiny")
VISION = dict(layers=[2, 1, 1, 1], width=8, head_width=64, image_size=64)


def main():
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    t = TINY["text"]
    text_cfg = dict(width=t["width"], layers=t["layers"], heads=t["heads"], context_length=t["context"],
                    vocab_size=t["vocab"])
    torch.manual_seed(3)
    model = CLIP(embed_dim=TINY["embed_dim"], vision_cfg=CLIPVisionCfg(**VISION),
                 text_cfg=CLIPTextCfg(**text_cfg), quick_gelu=True).eval()
    g = torch.Generator().manual_seed(33)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=g) * (0.1 if p.ndim == 1 else 0.02))
            p.copy_(p.half().float())
        # Peaked attention in the pool (open_clip's initial q/k give near-uniform weights, which would leave the
        # query/key path and the 1/sqrt(head width) scale untested).
        for proj in (model.visual.attnpool.q_proj, model.visual.attnpool.k_proj):
            proj.weight.mul_(3)
            proj.weight.copy_(proj.weight.half().float())
        # Cells that differ (positions as large as the features), so how they are weighted shows in the output.
        positions = model.visual.attnpool.positional_embedding
        positions.mul_(5)
        positions.copy_(positions.half().float())
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_((torch.randn(b.shape, generator=g) * 0.1).half().float())
            elif name.endswith("running_var"):
                b.copy_((1 + torch.rand(b.shape, generator=g) * 0.5).half().float())

    pixels = preprocess_images(VISION["image_size"])
    tokens = open_clip.tokenize(SENTENCES)
    with torch.no_grad():
        image = model.encode_image(pixels)
        text = model.encode_text(tokens)

    out = os.path.join(OUT_DIR, "openclip-rn")
    os.makedirs(out, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               os.path.join(out, "open_clip_pytorch_model.bin"))
    config = {"model_cfg": {"embed_dim": TINY["embed_dim"], "quick_gelu": True, "vision_cfg": VISION,
                            "text_cfg": text_cfg},
              "preprocess_cfg": {"mean": list(OPENAI_MEAN), "std": list(OPENAI_STD),
                                 "interpolation": "bicubic", "resize_mode": "shortest"}}
    with open(os.path.join(out, "open_clip_config.json"), "w") as f:
        json.dump(config, f, indent=1)
    reference = {
        "images": IMAGES,
        "sentences": SENTENCES,
        "image": [sig6_list(r) for r in image],
        "text": [sig6_list(r) for r in text],
        "versions": {"torch": torch.__version__, "open_clip": open_clip.__version__},
    }
    with open(os.path.join(OUT_DIR, "reference-rn.json"), "w") as f:
        json.dump(reference, f)
    print("wrote", out)


if __name__ == "__main__":
    main()
