#!/usr/bin/env bash
# Peer benchmark for `satseek bench index` against FAISS (IndexFlatIP, IndexHNSWFlat,
# IndexBinaryFlat) and hnswlib, same files, same thread count, one run.
#
#   bench/compare-index.sh [--quick] [--json]          (run from anywhere)
#
# Generates clustered unit-norm float32 vectors (N × DIMS, default 1 000 000 × 1280)
# and clustered 64-bit codes (CODES, default 10 000 000) into DATA (once; reused when
# the files exist), runs SatSeek and bench/index_peer.py, and prints
#   test | SatSeek ms | FAISS ms | hnswlib ms | SatSeek/FAISS (time ratio) | recall@10 each
# HNSW is built on the first HNSW_N vectors (default 100 000; a 1M × 1280 graph takes
# too long on 2 cores) and HNSW rows compare QPS at each efSearch.
# --quick: N=100 000, CODES=1 000 000, HNSW_N=20 000 (separate DATA folder).
#
# Environment: DATA, N, DIMS, CODES, HNSW_N, THREADS (default: nproc), EF ("16 32 64 128 256"),
# VENV (.venv-ref), SKIP_BUILD=1, SATSEEK_BIN, STORAGES ("float32 float16 int8"),
# EXPORT_DB=catalog.satseek to benchmark real embeddings from a SatSeek catalog instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JSON=0 QUICK=0
for arg in "$@"; do
    case "$arg" in
        --json) JSON=1 ;;
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--quick] [--json]" >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    N="${N:-100000}" CODES="${CODES:-1000000}" HNSW_N="${HNSW_N:-20000}"
fi
N="${N:-1000000}" DIMS="${DIMS:-1280}" CODES="${CODES:-10000000}" HNSW_N="${HNSW_N:-100000}"
THREADS="${THREADS:-$(nproc)}"
EF="${EF:-16 32 64 128 256}"
STORAGES="${STORAGES:-float32 float16 int8}"
DATA="${DATA:-${TMPDIR:-/tmp}/satseek-bench/index-${N}x${DIMS}-${CODES}}"
BENCH_NAME=compare-index
source bench/lib.sh

if ! "$PY" -c 'import faiss, hnswlib, numpy' 2>/dev/null; then
    log "installing faiss-cpu hnswlib into $VENV"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet faiss-cpu hnswlib numpy >&2
fi

if [ -n "${EXPORT_DB:-}" ]; then
    DATA="${TMPDIR:-/tmp}/satseek-bench/export-$(basename "$EXPORT_DB")"
    [ -f "$DATA/vectors.ssvm" ] || "$PY" bench/index_peer.py export --db "$EXPORT_DB" --out "$DATA"
elif [ ! -f "$DATA/codes.ssvm" ]; then
    log "generating $N × $DIMS vectors and $CODES codes into $DATA"
    "$PY" bench/index_peer.py gen --out "$DATA" --n "$N" --dims "$DIMS" --codes "$CODES"
fi

bin="${SATSEEK_BIN:-.build/release/satseek}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "swift build -c release --product satseek"
    swift build -c release --product satseek >&2
fi

export OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS"
ef_args=() storage_args=()
for e in $EF; do ef_args+=(--ef "$e"); done
for s in $STORAGES; do storage_args+=(--storage "$s"); done
codes_args=()
[ -f "$DATA/codes.ssvm" ] && codes_args=(--codes "$DATA/codes.ssvm" --code-queries "$DATA/code_queries.ssvm")

log "SatSeek (threads $THREADS, HNSW N=$HNSW_N)"
sat_json="$("$bin" bench index --vectors "$DATA/vectors.ssvm" --queries "$DATA/queries.ssvm" \
    "${codes_args[@]}" --hnsw-count "$HNSW_N" "${ef_args[@]}" "${storage_args[@]}" --json)"
log "FAISS and hnswlib"
peer_json="$("$PY" bench/index_peer.py run --dir "$DATA" --threads "$THREADS" --hnsw-count "$HNSW_N" "${ef_args[@]}")"

SAT="$sat_json" PEER="$peer_json" JSON="$JSON" "$PY" - <<'PYEOF'
import json, os
sat = json.loads(os.environ["SAT"])
peers = {}
for line in os.environ["PEER"].splitlines():
    if line.strip():
        p = json.loads(line)
        peers[p["engine"]] = {r["test"]: r for r in p["results"]}
rows = []
for r in sat["results"]:
    f, h = peers.get("faiss", {}).get(r["test"]), peers.get("hnswlib", {}).get(r["test"])
    if r["test"].startswith("flat-") and not r["test"].startswith("flat-float32"):
        f = peers.get("faiss", {}).get(r["test"].replace("flat-float16", "flat-float32").replace("flat-int8", "flat-float32"))
    rows.append(dict(test=r["test"], satseek_ms=r["ms"], faiss_ms=f and f["ms"], hnswlib_ms=h and h["ms"],
                     satseek_over_faiss=(r["ms"] / f["ms"]) if f else None,
                     satseek_over_hnswlib=(r["ms"] / h["ms"]) if h else None,
                     recall_satseek=r.get("recall"), recall_faiss=f and f.get("recall"), recall_hnswlib=h and h.get("recall")))
meta = {k: v for k, v in sat.items() if k not in ("results", "engine")}
if os.environ["JSON"] == "1":
    print(json.dumps(dict(meta=meta, rows=rows), indent=2))
else:
    print(f"threads {meta['threads']}, flat {meta['flat_count']}×{meta['dimensions']}, HNSW N={meta['hnsw_count']}, "
          f"codes {meta['codes']}×{meta['bits']} bits; ratio = SatSeek time / peer time (<1: SatSeek faster)")
    fmt = lambda v, p="%.3f": "-" if v is None else p % v
    print(f"{'test':38} {'SatSeek ms':>11} {'FAISS ms':>11} {'hnswlib ms':>11} {'Sat/FAISS':>9} {'Sat/hnsw':>9}  recall@10 S/F/H")
    for r in rows:
        print(f"{r['test']:38} {fmt(r['satseek_ms']):>11} {fmt(r['faiss_ms']):>11} {fmt(r['hnswlib_ms']):>11} "
              f"{fmt(r['satseek_over_faiss'], '%.2f'):>9} {fmt(r['satseek_over_hnswlib'], '%.2f'):>9}  "
              f"{fmt(r['recall_satseek'], '%.3f')}/{fmt(r['recall_faiss'], '%.3f')}/{fmt(r['recall_hnswlib'], '%.3f')}")
PYEOF
