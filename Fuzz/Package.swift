// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for SatSeek's file readers, kept out of the main package because they only link with the
/// toolchain's fuzzer runtime: build and run them with `scripts/fuzz.sh` (which instruments every SatSeek module
/// with `-sanitize=fuzzer,address`), never with a plain `swift build`.
let package = Package(
    name: "SatSeekFuzz",
    dependencies: [.package(name: "SatSeek", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"]),
        // Each target defines LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize) for libFuzzer's own `main` (the
        // script builds with -parse-as-library), and links with LLVM's lld: gold stops with an internal error on
        // the instrumented objects' debug information.
        .executableTarget(name: "FuzzCheckpoint", dependencies: [
            "FuzzSupport", .product(name: "SatSeekCheckpoint", package: "SatSeek"),
        ], linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
        .executableTarget(name: "FuzzIndexFiles", dependencies: [
            "FuzzSupport", .product(name: "SatSeekIndex", package: "SatSeek"),
        ], linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
        .executableTarget(name: "FuzzModelFiles", dependencies: [
            "FuzzSupport", .product(name: "SatSeekLearning", package: "SatSeek"),
        ], linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
        .executableTarget(name: "FuzzImageDecoder", dependencies: [
            "FuzzSupport", .product(name: "SatSeekImaging", package: "SatSeek"),
        ], linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
    ]
)
