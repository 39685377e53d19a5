#!/usr/bin/env bash
# Soak test of a live archive (loopback only, bounded): `satseek serve` answers mixed queries from wrk at 50
# connections while `satseek index` adds new images to the catalog it serves, a decompression-bomb upload is
# repeated throughout, and a probe checks that every newly committed item is searchable.
#
#   bash bench/soak.sh                 # 10 minutes, 5 000 new images (the issue's figures)
#   DURATION=120 NEW=1000 bash bench/soak.sh
#   DURATION=60 NEW=0 bash bench/soak.sh   # no indexing: the bomb uploads' effect alone
#
# Reports: wrk's requests, p50/p99 and non-2xx (must be 0) for the mixed queries; p99 of a quiet run before
# the soak for comparison; the server's RSS over time (must stay bounded); rows lost (must be 0); how long
# after its batch committed each new item first answered /api/items/ID and /api/search?item=ID; the bomb's
# status codes (415, at once). Exits non-zero when any check fails.
# Environment: SATSEEK (binary, default .build/release/satseek), DURATION (seconds, 600), NEW (images to
# add, 5000), CONNECTIONS (50), PORT (18090), WORK (scratch folder, default .build/soak).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=soak
source bench/lib.sh
bin=${SATSEEK:-.build/release/satseek}
duration=${DURATION:-600}
new=${NEW:-5000}
connections=${CONNECTIONS:-50}
port=${PORT:-18090}
work=${WORK:-.build/soak}

command -v wrk >/dev/null || bash scripts/install-system-deps.sh
[ -x "$bin" ] || swift build -c release --product satseek
rm -rf "$work" && mkdir -p "$work/new"
db="$work/soak.satseek"
echo "soak: base catalog (aid-mini, 750 images, with an HNSW file)…" >&2
"$bin" index ../shared/datasets/aid-mini --db "$db" --hnsw >/dev/null

# New images: the aid-mini files again under new names (new rows; each keeps its class folder).
python3 - "$new" "$work/new" <<'EOF'
import os, shutil, sys
count, target = int(sys.argv[1]), sys.argv[2]
root = "../shared/datasets/aid-mini"
files = sorted(os.path.join(c, f) for c in os.listdir(root) if os.path.isdir(os.path.join(root, c))
               for f in os.listdir(os.path.join(root, c)))
for i in range(count):
    source = files[i % len(files)]
    folder = os.path.join(target, os.path.dirname(source))
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(source))
    shutil.copyfile(os.path.join(root, source), os.path.join(folder, f"{base}-soak{i}{ext}"))
EOF
# The bomb: a PNG declaring 60000×60000 pixels with a few hundred bytes of image data.
python3 - "$work/bomb.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
rows = zlib.compress(b"\0" * (1 + 3 * 60000) * 4, 9)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
open(sys.argv[1], "wb").write(png + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
EOF

pids=()
trap 'kill "${SERVER_PID:-}" "${pids[@]}" 2>/dev/null || true' EXIT
start_server "$bin" "$db" "$port" "$work/serve.log"
server=$SERVER_PID

# Mixed queries: search by id over the base items (k 20, every fifth with a bbox), item metadata, thumbnails.
cat > "$work/mixed.lua" <<'EOF'
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % 750 + 1
  local kind = counter % 10
  if kind < 6 then
    local path = "/api/search?item=" .. id .. "&k=20"
    if kind == 5 then path = path .. "&bbox=-180,-90,180,90" end
    return wrk.format("GET", path)
  elseif kind < 8 then
    return wrk.format("GET", "/api/items/" .. id)
  else
    return wrk.format("GET", "/api/items/" .. id .. "/image?size=64")
  end
end
EOF
summary() { awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} /^Requests\/sec/ {rps=$2} /Non-2xx/ {bad=$NF}
                 /requests in/ {n=$1} END {printf "%s requests, p50 %s, p99 %s, %s req/s, non-2xx %s", n, p50, p99, rps, bad+0}' "$1"; }

echo "soak: quiet run (30 s, no indexing, no bombs)…" >&2
wrk -t2 -c"$connections" -d30s --latency -s "$work/mixed.lua" "http://127.0.0.1:$port" > "$work/quiet.txt"
quiet_p99=$(awk '$1 == "99%" {print $2}' "$work/quiet.txt")

echo "soak: ${duration} s of mixed queries at $connections connections while indexing $new images…" >&2
start_rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from image').fetchone()[0])" "$db")
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/mixed.lua" "http://127.0.0.1:$port" > "$work/soak.txt" &
pids+=($!)
wrk_pid=$!
sleep 5
index_pid=
if [ "$new" -gt 0 ]; then
  "$bin" index "$work/new" --db "$db" --json > "$work/index.json" 2> "$work/index.log" &
  pids+=($!)
  index_pid=$!
else
  echo '{"added": 0}' > "$work/index.json"
fi

# Probe: every 0.5 s, the newest committed row must answer /api/items/ID and rank via /api/search?item=ID.
python3 - "$db" "$port" "$work" "$server" "$wrk_pid" <<'EOF' &
import json, os, sqlite3, subprocess, sys, time, urllib.request, urllib.error
db, port, work, server, wrk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = f"http://127.0.0.1:{port}"
seen, delays, bombs, rss = {}, [], [], []
last_bomb = 0
def get(path, data=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return -1
while True:
    try:
        os.kill(wrk, 0)
    except OSError:
        break
    now = time.time()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    newest = con.execute("select max(id) from image").fetchone()[0]
    con.close()
    if newest not in seen:
        seen[newest] = now
        deadline = now + 30
        while time.time() < deadline:
            if get(f"/api/items/{newest}") == 200 and get(f"/api/search?item={newest}&k=5") == 200:
                delays.append(time.time() - now)
                break
            time.sleep(0.05)
        else:
            delays.append(float("inf"))
    if now - last_bomb > 5:
        started = time.time()
        status = get("/api/search/image?k=5", open(f"{work}/bomb.png", "rb").read())
        bombs.append((status, time.time() - started))
        last_bomb = now
    rss.append(int(open(f"/proc/{server}/status").read().split("VmRSS:")[1].split()[0]) // 1024)
    time.sleep(0.5)
json.dump({"delays": delays, "bombs": bombs, "rss_mb": rss}, open(f"{work}/probe.json", "w"))
EOF
pids+=($!)
probe=$!
wait "$wrk_pid"
[ -z "$index_pid" ] || wait "$index_pid" || { echo "soak: index failed" >&2; cat "$work/index.log" >&2; exit 1; }
wait "$probe"

end_rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from image').fetchone()[0])" "$db")
added=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['added'])" "$work/index.json")
python3 - "$work" "$start_rows" "$end_rows" "$added" "$new" "$quiet_p99" "$(summary "$work/quiet.txt")" "$(summary "$work/soak.txt")" <<'EOF'
import json, math, sys
work, start, end, added, new, quiet_p99, quiet, soak = sys.argv[1:9]
probe = json.load(open(f"{work}/probe.json"))
delays = [d for d in probe["delays"]]
finite = sorted(d for d in delays if math.isfinite(d))
bombs = probe["bombs"]
rss = probe["rss_mb"]
lost = int(start) + int(added) - int(end)
print(f"quiet (30 s):      {quiet}")
print(f"soak:              {soak}")
print(f"rows: {start} before, {added} added by index (of {new}), {end} after: {lost} lost")
if finite:
    print(f"new items probed: {len(delays)}; searchable after their commit in median {finite[len(finite)//2]:.2f} s, "
          f"max {finite[-1]:.2f} s; never within 30 s: {len(delays) - len(finite)}")
print(f"bomb uploads: {len(bombs)}, statuses {sorted(set(s for s, _ in bombs))}, slowest answer {max((t for _, t in bombs), default=0):.2f} s")
print(f"server RSS: start {rss[0] if rss else '?'} MB, max {max(rss) if rss else '?'} MB, end {rss[-1] if rss else '?'} MB")
ok = lost == 0 and int(added) == int(new) and len(finite) == len(delays) and all(s == 415 for s, _ in bombs) \
    and "non-2xx 0" in soak
print("soak: PASS" if ok else "soak: FAIL")
sys.exit(0 if ok else 1)
EOF
