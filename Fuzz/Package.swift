// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for SatSeek's file readers, kept out of the main package because they only link with the
/// toolchain's fuzzer runtime: build and run them with `scripts/fuzz.sh` (which instruments every SatSeek module
/// with `-sanitize=fuzzer,address`), never with a plain `swift build`.
let package = Package(
    name: "SatSeekFuzz",
    dependencies: [.package(name: "SatSeek", path: "..")],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver, so each target keeps its own `main`.
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"]),
        .executableTarget(name: "FuzzCheckpoint", dependencies: [
            "FuzzSupport", .product(name: "SatSeekCheckpoint", package: "SatSeek"),
        ]),
        .executableTarget(name: "FuzzIndexFiles", dependencies: [
            "FuzzSupport", .product(name: "SatSeekIndex", package: "SatSeek"),
        ]),
        .executableTarget(name: "FuzzModelFiles", dependencies: [
            "FuzzSupport", .product(name: "SatSeekLearning", package: "SatSeek"),
        ]),
        .executableTarget(name: "FuzzImageDecoder", dependencies: [
            "FuzzSupport", .product(name: "SatSeekImaging", package: "SatSeek"),
        ]),
    ]
)
