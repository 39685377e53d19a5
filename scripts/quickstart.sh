#!/usr/bin/env bash
# The main job on the embedded default: build satseek, fetch EfficientNet-Lite0 weights, index the sample
# dataset (../shared/datasets/aid-mini) into sample.satseek, run image→image and relevance-feedback searches on
# it (with a find-all exported as CSV), then train an
# image→sentence alignment (offline sentence encoder all-MiniLM-L6-v2) and search the same index by text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
swift build -c release --product satseek
bin=.build/release/satseek
$bin models install effnet-lite0 all-minilm-l6-v2
data=${1:-../shared/datasets/aid-mini}
$bin index "$data" --db sample.satseek --hnsw
$bin search --db sample.satseek --image "$data/Port/port_5.jpg" -k 10
$bin search --db sample.satseek --item 17 -k 5 --json
# Relevance feedback: two airports marked relevant, a parking lot not; then every item the learner scores ≥ 0.25
# (with three labels the logistic probabilities of unlabelled tiles are low; they rise as more are marked).
$bin search --db sample.satseek --positive 17 --positive 10 --negative 426 -k 10
$bin export --db sample.satseek --positive 17 --positive 10 --negative 426 --threshold 0.25 --format csv --out sample-airports.csv
$bin train-text "$data" --out sample.satseek-align
$bin index "$data" --db sample.satseek --align sample.satseek-align
$bin search --db sample.satseek --text "harbor with many boats" -k 10
