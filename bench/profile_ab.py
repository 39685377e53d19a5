#!/usr/bin/env python3
"""Per-layer A/B of two or more `satseek` builds on a noisy machine.

    python3 bench/profile_ab.py [--rounds N] [--count C] NAME=BINARY NAME=BINARY ...

Runs `BINARY bench embed --batch 1 --profile --count C` for every build in turn, ROUNDS times
(interleaved, so a slow phase of the machine hits every build alike), keeps each layer kind's fastest
time per build and prints them side by side with their sums and each build's best img/s. Copy a build
aside before rebuilding (cp .build/release/satseek /tmp/satseek-before) to compare it with the next.
"""
import argparse
import re
import subprocess
import sys

LAYER = re.compile(r"^\s+(\S.*?)\s+([\d.]+) ms\s+[\d.]+ %$")
RATE = re.compile(r"^\s+batch\s+1:\s+([\d.]+) img/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    args = parser.parse_args()
    builds = []
    for spec in args.builds:
        name, sep, binary = spec.partition("=")
        if not sep or not name or not binary:
            parser.error(f"expected NAME=BINARY, got {spec!r}")
        builds.append((name, binary))

    best = {name: {} for name, _ in builds}
    rate = {name: 0.0 for name, _ in builds}
    for round_number in range(1, args.rounds + 1):
        for name, binary in builds:
            print(f"profile_ab: round {round_number}/{args.rounds}: {name}", file=sys.stderr)
            run = subprocess.run([binary, "bench", "embed", "--batch", "1", "--profile", "--count", str(args.count)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if run.returncode != 0:
                print(run.stdout, file=sys.stderr)
                print(f"profile_ab: {binary} exited with {run.returncode}", file=sys.stderr)
                return 1
            for line in run.stdout.splitlines():
                if m := LAYER.match(line):
                    layer, ms = m.group(1), float(m.group(2))
                    best[name][layer] = min(best[name].get(layer, ms), ms)
                elif m := RATE.match(line):
                    rate[name] = max(rate[name], float(m.group(1)))

    first = builds[0][0]
    layers = sorted(best[first], key=lambda layer: -best[first][layer])
    for name, _ in builds[1:]:
        layers += [layer for layer in best[name] if layer not in layers]
    print(f"{'layer (fastest ms per image)':32}" + "".join(f"{name:>12}" for name, _ in builds))
    for layer in layers:
        print(f"{layer:32}" + "".join(f"{best[name].get(layer, float('nan')):12.3f}" for name, _ in builds))
    print(f"{'sum':32}" + "".join(f"{sum(best[name].values()):12.3f}" for name, _ in builds))
    print(f"{'best img/s (timed loop)':32}" + "".join(f"{rate[name]:12.1f}" for name, _ in builds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
