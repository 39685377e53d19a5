#!/usr/bin/env python3
"""int8 peer benchmark for `satseek bench embed --precision int8`: ONNX Runtime static int8.

Usually driven by bench/compare-embed-int8.sh. What is measured:
  * the float model and images exactly as bench/compare_embed.py (effnet-lite0, 224 px, pooled 1280-d
    features, the first N images under --images in sorted order);
  * ORT int8: the float ONNX export pre-processed (quant_pre_process) and quantised with
    onnxruntime.quantization.quantize_static — QDQ format,
    per-channel int8 weights, uint8 activations, MinMax ranges from --calibration-count images spread evenly
    over --calibration-images (sorted paths, every len/count-th file: the images `satseek calibrate` takes);
  * both ORT sessions: intra_op_num_threads=--threads, sequential, ORT_ENABLE_ALL; images/s at each --batch
    (best of --repeat timed loops after warm-up);
  * the int8 embeddings' cosine to the float ones over the N images (mean and minimum).
Writes one JSON object (--out) or prints it.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_embed import EXTS, export_onnx, list_images, load_model, preprocess, time_loop  # noqa: E402


def calibration_files(root, count):
    files = []
    for dirpath, _, filenames in os.walk(root):
        files += [os.path.join(dirpath, f) for f in filenames if f.lower().endswith(EXTS)]
    files.sort()
    count = min(count, len(files))
    return [files[i * len(files) // count] for i in range(count)]


def quantize(float_path, int8_path, calibration):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": preprocess(p)[None]} for p in calibration])

        def get_next(self):
            return next(self.items, None)

    from onnxruntime.quantization.shape_inference import quant_pre_process

    os.makedirs(os.path.dirname(int8_path) or ".", exist_ok=True)
    # ORT's recommended pre-processing (symbolic shape inference, graph optimisation) before quantising.
    prepared = int8_path + ".prepared.onnx"
    quant_pre_process(float_path, prepared)
    quantize_static(prepared, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime int8 peer for satseek bench embed --precision int8")
    ap.add_argument("--images", default="../shared/datasets/aid-mini")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--calibration-images", default="../shared/datasets/rsscn7-mini")
    ap.add_argument("--calibration-count", type=int, default=50)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--onnx", default=".build/bench/effnet-lite0.onnx")
    ap.add_argument("--int8-onnx", default=".build/bench/effnet-lite0-int8.onnx")
    ap.add_argument("--out")
    args = ap.parse_args()
    args.batch = args.batch or [1, 32]
    import onnxruntime as ort

    export_onnx(load_model(), args.onnx)
    calibration = calibration_files(args.calibration_images, args.calibration_count)
    quantize(args.onnx, args.int8_onnx, calibration)
    data = np.stack([preprocess(p) for p in list_images(args.images, args.count)]).astype(np.float32)

    def session(path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    out = {"onnxruntime_version": ort.__version__, "count": int(data.shape[0]), "threads": args.threads,
           "calibration_images": args.calibration_images, "calibration_count": len(calibration), "results": []}
    embeddings = {}
    rates = {}
    for name, path in (("float32", args.onnx), ("int8", args.int8_onnx)):
        sess = session(path)
        run = lambda c, s=sess: s.run(None, {"input": c})  # noqa: E731
        rates[name] = {b: time_loop(run, data, b, max(args.warmup, 1), args.repeat) for b in args.batch}
        embeddings[name] = np.concatenate([run(data[i:i + 32])[0] for i in range(0, len(data), 32)])
        del sess
    a, b = embeddings["float32"], embeddings["int8"]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    out["int8_cosine_to_float32"] = {"mean": float(cos.mean()), "min": float(cos.min())}
    for batch in args.batch:
        out["results"].append({"batch": batch, "ort_float32_images_per_second": rates["float32"][batch],
                               "ort_int8_images_per_second": rates["int8"][batch]})
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
