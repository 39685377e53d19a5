#!/usr/bin/env bash
# Installs the Debian packages SatSeek links against (GDAL for decoding, OpenBLAS for the tensor engine).
# Idempotent: does nothing when they are already present.
set -euo pipefail
packages=(libgdal-dev gdal-bin libopenblas-dev libjs-leaflet chromium wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
