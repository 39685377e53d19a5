#!/usr/bin/env bash
# Load test of `satseek serve`: wrk, 50 connections, 30 s, on loopback, against the search-by-id route
# (GET /api/search?item=ID&k=20). Prints p50/p99 latency and requests/s.
#
#   bash bench/load-serve.sh [DB]     # DB defaults to bench/serve.satseek, built on first use from
#                                     # ../shared/datasets/aid-mini plus the tiled ../shared/geotiff scenes
# Environment: SATSEEK (binary, default .build/release/satseek), DURATION (30s), CONNECTIONS (50),
# THREADS (2), PORT (18080), ITEM (id queried, default 1), K (20).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=load-serve
source bench/lib.sh
bin=${SATSEEK:-.build/release/satseek}
db=${1:-bench/serve.satseek}
duration=${DURATION:-30s}
connections=${CONNECTIONS:-50}
threads=${THREADS:-2}
port=${PORT:-18080}
item=${ITEM:-1}
k=${K:-20}

command -v wrk >/dev/null || bash scripts/install-system-deps.sh
[ -x "$bin" ] || swift build -c release --product satseek
if [ ! -f "$db" ]; then
  echo "building $db (aid-mini + tiled GeoTIFF scenes)…" >&2
  "$bin" index ../shared/datasets/aid-mini --db "$db" >/dev/null
  "$bin" index ../shared/geotiff --db "$db" --tile 224 >/dev/null
fi

log=$(mktemp)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -f "$log"' EXIT
start_server "$bin" "$db" "$port" "$log"
url="http://127.0.0.1:$port/api/search?item=$item&k=$k"
curl -fs "$url" >/dev/null || { echo "search route failed: $url" >&2; cat "$log" >&2; exit 1; }
items=$(curl -fs "http://127.0.0.1:$port/api/info" | sed -n 's/.*"items":\([0-9]*\).*/\1/p')

out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url")
echo "$out"
p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
echo
echo "search-by-id over $items items, $connections connections, $duration, $threads wrk threads, $(nproc) cores:"
echo "  p50 $p50   p99 $p99   $rps req/s   non-2xx: ${errors:-0}"
