#!/usr/bin/env bash
# Two release builds of SatSeek side by side, alternating in one run on one machine: the network alone
# (`satseek bench embed`, batch 1 and 32) and indexing against the network (`satseek bench pipeline`).
#
#   bash bench/compare-builds.sh A_BINARY B_BINARY [ROUNDS]
#
# e.g. a SATSEEK_NATIVE=1 (-march=native) build against the default portable (x86-64-v3) one:
#   SATSEEK_NATIVE=1 swift build -c release --product satseek --scratch-path .build-native
#   swift build -c release --product satseek --scratch-path .build-portable
#   bash bench/compare-builds.sh .build-native/release/satseek .build-portable/release/satseek
# Each round runs A then B, the next B then A (the machine drifts between minutes). Prints every round and
# the median of each figure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in -h|--help|'') sed -n '2,12p' "$0"; exit 0 ;; esac
a="$1"; b="$2"; rounds="${3:-4}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {  # run LABEL BINARY ROUND
  "$2" bench embed --count 64 --batch 1 --batch 32 --repeat 3 --json > "$out/$1-embed-$3.json"
  "$2" bench pipeline --rounds 4 --chunk 128 --json > "$out/$1-pipeline-$3.json" 2>/dev/null
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then run A "$a" "$round"; run B "$b" "$round"; else run B "$b" "$round"; run A "$a" "$round"; fi
  echo "round $round done" >&2
done
python3 - "$out" "$rounds" "$a" "$b" <<'PY'
import json, statistics, sys, glob
out, rounds, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def embed(label, r):
    d = json.load(open(f"{out}/{label}-embed-{r}.json"))
    return {int(x["batch"]): float(x["images_per_second"]) for x in d["results"]}
def pipeline(label, r):
    d = json.load(open(f"{out}/{label}-pipeline-{r}.json"))
    return float(d["ratio"]), float(d["index_images_per_second"])
table = {}
for label in "AB":
    for r in range(1, rounds + 1):
        e = embed(label, r)
        for batch, rate in e.items(): table.setdefault((label, f"embed batch {batch} img/s"), []).append(rate)
        ratio, rate = pipeline(label, r)
        table.setdefault((label, "index/network"), []).append(ratio)
        table.setdefault((label, "index img/s"), []).append(rate)
print(f"A = {a}\nB = {b}")
for key in sorted({k for _, k in table}):
    ma, mb = statistics.median(table[("A", key)]), statistics.median(table[("B", key)])
    rounds_a = " ".join(f"{x:.2f}" for x in table[("A", key)])
    rounds_b = " ".join(f"{x:.2f}" for x in table[("B", key)])
    print(f"{key:22s} A {ma:8.2f}  B {mb:8.2f}  B/A {mb / ma:5.3f}   (A: {rounds_a}; B: {rounds_b})")
PY
