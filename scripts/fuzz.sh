#!/usr/bin/env bash
# Fuzzes SatSeek's file readers with libFuzzer (the Swift toolchain's -sanitize=fuzzer) and AddressSanitizer.
#
#   scripts/fuzz.sh                     every target for 60 s each
#   scripts/fuzz.sh 600 FuzzCheckpoint  one target for 10 minutes
#   scripts/fuzz.sh --ci                every target, a fixed seed and a fixed number of inputs (about a minute
#                                       each here), so that CI repeats the run that passed before it landed
#
# Targets (Fuzz/Sources): FuzzCheckpoint (zip / legacy pickle / safetensors), FuzzIndexFiles (flat, HNSW and
# binary index files, checksum skipped), FuzzModelFiles (trained heads, text alignments), FuzzImageDecoder
# (uploads through GDAL under the pixel cap). Seeds: the checkpoint fixtures, files the writers produce, and
# small images from ../shared. Findings (crash-…, timeout-…, oom-…) land in .build-fuzz/findings/ and fail the
# script; each one becomes a regression test in Tests/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=time
seconds=60
if [ "${1:-}" = "--ci" ]; then mode=runs; shift
elif [ -n "${1:-}" ]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzCheckpoint FuzzIndexFiles FuzzModelFiles FuzzImageDecoder)
# Inputs per target in --ci mode: about a minute each on the 2-core development machine.
declare -A ci_runs=([FuzzCheckpoint]=90000 [FuzzIndexFiles]=110000 [FuzzModelFiles]=110000 [FuzzImageDecoder]=40000)

scratch=.build-fuzz
echo "fuzz: building ${targets[*]} (every SatSeek module instrumented; the first build takes minutes)" >&2
for target in "${targets[@]}"; do
    swift build --package-path Fuzz --scratch-path "$scratch" --product "$target" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
done
bin=$(swift build --package-path Fuzz --scratch-path "$scratch" --show-bin-path)

seeds="$scratch/seeds"
rm -rf "$seeds" && mkdir -p "$seeds"/{FuzzCheckpoint,FuzzIndexFiles,FuzzModelFiles,FuzzImageDecoder}
cp Tests/SatSeekCheckpointTests/Fixtures/*.pth Tests/SatSeekCheckpointTests/Fixtures/*.safetensors "$seeds/FuzzCheckpoint/"
# (a list file, not `| head`: with pipefail, head closing the pipe early would fail the script)
find ../shared -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.tif' \) -size -24k \
    | sort > "$seeds/images.txt"
sed -n 1,12p "$seeds/images.txt" | while read -r file; do cp "$file" "$seeds/FuzzImageDecoder/"; done
[ -e "$bin/FuzzIndexFiles" ] && SATSEEK_FUZZ_SEEDS="$seeds/FuzzIndexFiles" "$bin/FuzzIndexFiles"
[ -e "$bin/FuzzModelFiles" ] && SATSEEK_FUZZ_SEEDS="$seeds/FuzzModelFiles" "$bin/FuzzModelFiles"

mkdir -p "$scratch/findings"
status=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    budget=(-max_total_time="$seconds")
    if [ "$mode" = runs ]; then
        # From the seeds alone, with a fixed seed: the same inputs every time.
        corpus="$scratch/corpus-ci/$target"
        rm -rf "$corpus"
        budget=(-runs="${ci_runs[$target]}" -seed=1)
    fi
    mkdir -p "$corpus"
    echo "fuzz: $target (${budget[*]})" >&2
    started=$(date +%s)
    if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$bin/$target" "$corpus" "$seeds/$target" \
        "${budget[@]}" -max_len=65536 -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
        -artifact_prefix="$scratch/findings/$target-" 2> "$scratch/$target.log"; then
        status=1
        echo "fuzz: $target FOUND A PROBLEM — last lines of $scratch/$target.log:" >&2
        tail -n 40 "$scratch/$target.log" >&2
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$target.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target ran $runs inputs in $(( $(date +%s) - started )) s; corpus $(ls "$corpus" | wc -l) files" >&2
done
exit $status
