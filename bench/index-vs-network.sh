#!/usr/bin/env bash
# End-to-end indexing rate against the network-only rate, on the same machine in the same run.
#
#   bench/index-vs-network.sh [COPIES]        (run from the repo root)
#
# Builds an archive of the shared aid-mini and rsscn7-mini JPEGs copied COPIES times (default 11:
# 10 175 images; 3 → 2 775) under WORK, then runs ROUNDS times
#   /usr/bin/time -v satseek index ARCHIVE --db <fresh catalog>          (decode + embed + SQLite)
# with a network-only run before the first and after every index round
#   satseek bench embed --images ARCHIVE --count 1024 --batch 32 --repeat 1
# and compares each index round with the mean of the two network runs around it. The machine's speed
# drifts between minutes (±20 % here), so a ratio is only meaningful between neighbouring runs. Prints
# every round, the median and range of the ratios and the largest peak RSS of `index`.
#
# Environment: WORK (default /tmp/satseek-index-bench), ROUNDS (default 3), MODEL (effnet-lite0),
# SKIP_BUILD=1 (use the existing binary), SATSEEK_BIN (binary to run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

COPIES="${1:-11}"
case "$COPIES" in -h|--help) sed -n '2,16p' "$0"; exit 0 ;; *[!0-9]*|'') echo "usage: $0 [COPIES]" >&2; exit 2 ;; esac
WORK="${WORK:-/tmp/satseek-index-bench}"
ROUNDS="${ROUNDS:-3}"
MODEL="${MODEL:-effnet-lite0}"
bin="${SATSEEK_BIN:-.build/release/satseek}"
[ "${SKIP_BUILD:-0}" = 1 ] || [ -n "${SATSEEK_BIN:-}" ] || swift build -c release --product satseek >&2

archive="$WORK/archive-$COPIES"
if [ ! -f "$archive/.complete" ]; then
    echo "index-vs-network: building $archive" >&2
    rm -rf "$archive"
    for dataset in ../shared/datasets/aid-mini ../shared/datasets/rsscn7-mini; do
        for class in "$dataset"/*/; do
            name="$(basename "$class")"
            mkdir -p "$archive/$name"
            for copy in $(seq 1 "$COPIES"); do
                for file in "$class"*; do cp "$file" "$archive/$name/r${copy}_$(basename "$file")"; done
            done
        done
    done
    touch "$archive/.complete"
fi
images=$(find "$archive" -type f ! -name .complete | wc -l)

network_rate() {
    "$bin" bench embed --model "$MODEL" --images "$archive" --count 1024 --batch 32 --repeat 1 --json \
        | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["results"][0]["images_per_second"])'
}

ratios=(); peak_kb=0
before=$(network_rate)
for round in $(seq 1 "$ROUNDS"); do
    rm -f "$WORK/catalog.satseek"*
    /usr/bin/time -v -o "$WORK/time.txt" "$bin" index "$archive" --db "$WORK/catalog.satseek" --model "$MODEL" \
        > "$WORK/index.txt" 2>&1 || { cat "$WORK/index.txt" >&2; exit 1; }
    rate=$(grep -oE '[0-9.]+ img/s\)' "$WORK/index.txt" | tail -1 | cut -d' ' -f1)
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    after=$(network_rate)
    ratio=$(python3 -c "print('%.3f' % (2 * $rate / ($before + $after)))")
    echo "round $round: index $rate img/s (peak RSS $((kb / 1024)) MB), network batch 32 $before / $after img/s before / after, ratio $ratio"
    ratios+=("$ratio")
    peak_kb=$(( kb > peak_kb ? kb : peak_kb ))
    before=$after
done
python3 - "$images" "$peak_kb" "${ratios[@]}" <<'PY'
import statistics, sys
images, kb, ratios = int(sys.argv[1]), int(sys.argv[2]), [float(r) for r in sys.argv[3:]]
print(f"{images} images: index/network median {statistics.median(ratios):.2f} over {len(ratios)} rounds "
      f"({min(ratios):.2f}–{max(ratios):.2f}), peak RSS {kb // 1024} MB")
PY
