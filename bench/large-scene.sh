#!/usr/bin/env bash
# A full-resolution scene of any size: makes a SIDE × SIDE px 3-band GeoTIFF with GDAL (default 20 000, from the
# shared NAIP 2020 scene resampled onto a 0.6 m grid at the same place; tiled 512 × 512, DEFLATE, with internal
# overviews as a Cloud-Optimised GeoTIFF has), then measures
#   - `satseek index SCENE --tile 224`: chips per second and the peak RSS of the indexing process;
#   - `satseek serve`: time from start to the first map tile (the zoom that shows the whole scene, cold: the
#     scene is warped to a VRT on first use), and a full-resolution tile (zoom 18) after it.
#
#   bash bench/large-scene.sh [--json]
# Environment: SATSEEK (binary, default .build/release/satseek), SIDE (20000), WORK (scratch folder, default
# ${TMPDIR:-/tmp}/satseek-large-scene; the scene is kept there and reused), PORT (18095).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=large-scene
source bench/lib.sh
bin=${SATSEEK:-.build/release/satseek}
side=${SIDE:-20000}
work=${WORK:-${TMPDIR:-/tmp}/satseek-large-scene}
port=${PORT:-18095}
json=0
[ "${1:-}" = "--json" ] && json=1
[ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] && { sed -n '2,13p' "$0"; exit 0; }
[ -x "$bin" ] || swift build -c release --product satseek
mkdir -p "$work"
scene="$work/scene-$side.tif"
source_scene=../shared/geotiff/naip_m_4709963_se_14_1_20200831.tif
if [ ! -f "$scene" ]; then
  log "making $scene ($side × $side px, 3 bands, 0.6 m) with gdal_translate + gdaladdo"
  read -r ulx uly < <(gdalinfo -json "$source_scene" | python3 -c \
    'import json,sys; g=json.load(sys.stdin)["geoTransform"]; print(g[0], g[3])')
  lrx=$(python3 -c "print($ulx + $side * 0.6)"); lry=$(python3 -c "print($uly - $side * 0.6)")
  gdal_translate -q -b 1 -b 2 -b 3 -outsize "$side" "$side" -r bilinear -a_ullr "$ulx" "$uly" "$lrx" "$lry" \
    -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co COMPRESS=DEFLATE -co PREDICTOR=2 -co BIGTIFF=IF_SAFER \
    "$source_scene" "$scene.partial.tif"
  gdaladdo -q -r average "$scene.partial.tif" 2 4 8 16 32 64
  mv "$scene.partial.tif" "$scene"
fi
db="$work/large.satseek"
rm -f "$db" "$db"-*
log "indexing $scene with --tile 224"
/usr/bin/time -v -o "$work/index.time" "$bin" index "$scene" --db "$db" --tile 224 --json >"$work/index.json"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/index.time")
log "serving $db"
log_file="$work/serve.log"
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true' EXIT
started=$(date +%s.%N)
start_server "$bin" "$db" "$port" "$log_file"
ready=$(date +%s.%N)
# The scene's centre, and the tiles holding it: the zoom that shows the whole scene, then full resolution.
read -r lon lat < <(curl -fs "http://127.0.0.1:$port/api/scenes" | python3 -c \
  'import json,sys; b=json.load(sys.stdin)[0]["bbox"]; print((b[0]+b[2])/2, (b[1]+b[3])/2)')
tile() { python3 -c "
import math; z=$1; n=2**z
print(z, int(($lon+180)/360*n), int((1-math.asinh(math.tan(math.radians($lat)))/math.pi)/2*n))"; }
read -r z1 x1 y1 < <(tile 11)
read -r z2 x2 y2 < <(tile 18)
first=$(curl -fs -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/api/tiles/$z1/$x1/$y1.png")
deep=$(curl -fs -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/api/tiles/$z2/$x2/$y2.png")
first_done=$(python3 -c "print($ready - $started + $first)")
INDEX="$work/index.json" SIDE="$side" RSS="$rss_kb" READY="$(python3 -c "print($ready - $started)")" \
FIRST="$first" FIRST_DONE="$first_done" DEEP="$deep" JSON="$json" python3 - <<'PYEOF'
import json, os
report = json.load(open(os.environ["INDEX"]))
chips = report["added"] + report["updated"]
out = {
    "scene_px": int(os.environ["SIDE"]), "chips": chips, "index_seconds": round(report["seconds"], 1),
    "chips_per_second": round(chips / report["seconds"], 1), "peak_rss_mib": round(int(os.environ["RSS"]) / 1024),
    "server_ready_s": round(float(os.environ["READY"]), 2),
    "first_tile_s": round(float(os.environ["FIRST"]), 3),
    "start_to_first_tile_s": round(float(os.environ["FIRST_DONE"]), 2),
    "full_resolution_tile_s": round(float(os.environ["DEEP"]), 3),
}
if os.environ["JSON"] == "1":
    print(json.dumps(out, indent=2))
else:
    print(f"scene {out['scene_px']} × {out['scene_px']} px: {chips} chips in {out['index_seconds']} s = "
          f"{out['chips_per_second']} chips/s, peak RSS {out['peak_rss_mib']} MiB")
    print(f"server ready in {out['server_ready_s']} s; first tile (zoom 11, cold) {out['first_tile_s']} s "
          f"({out['start_to_first_tile_s']} s from start); full-resolution tile (zoom 18) {out['full_resolution_tile_s']} s")
PYEOF
