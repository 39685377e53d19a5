#!/usr/bin/env python3
"""Checks that every target's dependencies in Package.swift equal the modules its Swift files import.

Standard modules (Foundation, Dispatch, Glibc, Synchronization, Testing, XCTest) are not declared and so not
counted; products count under their product name (GRDB, Hummingbird, ArgumentParser, ...). Exits 1 and lists
each target that differs."""
import glob
import os
import re
import sys

STANDARD = {"Foundation", "FoundationNetworking", "Dispatch", "Glibc", "Darwin", "Synchronization",
            "Testing", "XCTest", "PackageDescription", "_Concurrency"}
IMPORT = re.compile(r"\s*(?:@testable |@_exported |@preconcurrency )?import (?:struct |class |enum |func |protocol )?(\w+)")
TARGET = re.compile(r'\.(?:target|testTarget|executableTarget)\(name: "(\w+)",\s*dependencies: \[(.*?)\]', re.S)


def declared(dependencies: str) -> set:
    names = set(re.findall(r'\.product\(name: "(\w+)"', dependencies))
    return names | set(re.findall(r'"(\w+)"', re.sub(r"\.product\([^)]*\)", "", dependencies)))


def imported(folder: str) -> set:
    modules = set()
    for path in glob.glob(os.path.join(folder, "**", "*.swift"), recursive=True):
        with open(path, encoding="utf-8") as source:
            for line in source:
                match = IMPORT.match(line)
                if match:
                    modules.add(match.group(1))
    return modules - STANDARD


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Package.swift"), encoding="utf-8") as manifest:
        package = manifest.read()
    problems = 0
    for name, dependencies in TARGET.findall(package):
        folder = next((os.path.join(root, top, name) for top in ("Sources", "Tests")
                       if os.path.isdir(os.path.join(root, top, name))), None)
        if folder is None:
            continue
        want, have = declared(dependencies), imported(folder)
        if want != have:
            problems += 1
            print(f"{name}: declared but not imported {sorted(want - have)}; imported but not declared {sorted(have - want)}")
    if problems == 0:
        print("Package.swift: every target's dependencies equal its imports")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
