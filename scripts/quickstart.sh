#!/usr/bin/env bash
# The main job on the embedded default: build satseek, fetch EfficientNet-Lite0 weights, index the sample
# dataset (../shared/datasets/aid-mini) into sample.satseek and run an image→image search on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
swift build -c release --product satseek
bin=.build/release/satseek
$bin models install effnet-lite0
data=${1:-../shared/datasets/aid-mini}
$bin index "$data" --db sample.satseek
$bin search --db sample.satseek --image "$data/Port/port_5.jpg" -k 10
$bin search --db sample.satseek --item 17 -k 5 --json
