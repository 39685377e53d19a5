// swift-tools-version:6.0
import PackageDescription

/// SatSeek — content-based image retrieval for satellite and aerial imagery.
/// Layers, data flowing top to bottom:
/// Imaging (GDAL) → Tensor (OpenBLAS) → Checkpoint → Models → Index / Catalog (GRDB) → Search → CLI
// Code generation for the CPU. The default is portable: x86-64-v3 (AVX2, FMA, F16C — every x86 machine of the
// last decade), so a binary built on a machine with AVX-512 still runs on one without it; on an AVX-512 machine
// it measured as fast as `-march=native` (README "Build flags", bench/compare-builds.sh). OpenBLAS picks its
// kernels at run time. SATSEEK_NATIVE=1 builds for the building machine only.
#if arch(x86_64)
let cpuFlags: [String] = Context.environment["SATSEEK_NATIVE"] == "1"
    ? ["-Xcc", "-march=native"] : ["-Xcc", "-march=x86-64-v3"]
#else
let cpuFlags: [String] = Context.environment["SATSEEK_NATIVE"] == "1" ? ["-Xcc", "-mcpu=native"] : []
#endif

/// The kernel targets (tensor and index arithmetic) drop Swift's run-time checks in release builds only; their
/// public entry points check their arguments with conditions that survive `-Ounchecked`, and the store layer
/// above them (compiled with every check) turns bad queries into thrown errors. Debug builds optimise them with
/// every check kept (`-O`), so the tests run the real kernels at speed with bounds and overflow checks on.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(cpuFlags, .when(platforms: [.linux])),
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(platforms: [.linux], configuration: .release)),
    .unsafeFlags(["-O"], .when(platforms: [.linux], configuration: .debug)),
]

let package = Package(
    name: "SatSeek",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "satseek", targets: ["satseek"]),
        .library(name: "SatSeekSearch", targets: ["SatSeekSearch"]),
        // The file readers on their own, for the libFuzzer targets in Fuzz/ (scripts/fuzz.sh).
        .library(name: "SatSeekCheckpoint", targets: ["SatSeekCheckpoint"]),
        .library(name: "SatSeekIndex", targets: ["SatSeekIndex"]),
        .library(name: "SatSeekLearning", targets: ["SatSeekLearning"]),
        .library(name: "SatSeekImaging", targets: ["SatSeekImaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Model downloads from the Hugging Face hub: HTTP(S) with redirects and streamed bodies, and SHA-256.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Tests only: the WebSocket client that drives headless Chromium over the DevTools protocol.
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        // The logger Hummingbird's connection limit reports to (and the tests' WebSocket client takes).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries (Debian: libgdal-dev, libopenblas-dev).
        .systemLibrary(name: "CGDAL", pkgConfig: "gdal", providers: [.apt(["libgdal-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        // OpenBLAS set to one thread while the program loads (the engine owns threading).
        .target(name: "COpenBLASSetup", linkerSettings: [.linkedLibrary("openblas")]),
        // Prefetch hints for the HNSW search loop (a header of static inline C functions).
        .target(name: "CMemoryHints"),
        // The int8 GEMM kernels (AVX-512 VNNI, AVX-VNNI, AVX2, portable), chosen at run time by CPU feature flags;
        // optimised in debug builds too, so the tests run them at speed.
        .target(name: "CQuantizedKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),

        // Imaging keeps Swift's checks (it parses files) but gets the CPU's vector units for resampling.
        .target(name: "SatSeekImaging", dependencies: ["CGDAL"],
                swiftSettings: [.unsafeFlags(cpuFlags, .when(platforms: [.linux]))]),
        .target(name: "SatSeekTensor", dependencies: ["COpenBLAS", "COpenBLASSetup", "CMemoryHints", "CQuantizedKernels"], swiftSettings: kernelSettings),
        .target(name: "SatSeekCheckpoint", dependencies: ["ZIPFoundation"]),
        .target(name: "SatSeekText", dependencies: ["ZIPFoundation"]),
        .target(name: "SatSeekModels", dependencies: ["SatSeekTensor", "SatSeekCheckpoint", "SatSeekImaging", "SatSeekText", "ZIPFoundation",
                                                     .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                     .product(name: "Crypto", package: "swift-crypto"),
                                                     .product(name: "NIOCore", package: "swift-nio")]),
        // The one seeded random generator (SplitMix64): HNSW layers, synthetic sketches, training, test data.
        .target(name: "SatSeekRandom"),
        .target(name: "SatSeekIndex", dependencies: ["COpenBLAS", "CMemoryHints", "SatSeekRandom"], swiftSettings: kernelSettings),
        .target(name: "SatSeekCatalog", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // The embedded store's index files beside a catalog (derived from it, rebuilt when stale).
        .target(name: "SatSeekStore", dependencies: ["SatSeekCatalog", "SatSeekIndex"]),
        .target(name: "SatSeekLearning", dependencies: ["COpenBLAS", "SatSeekTensor", "SatSeekIndex", "SatSeekRandom"]),
        .target(name: "SatSeekSketch", dependencies: ["SatSeekImaging", "SatSeekTensor", "SatSeekModels", "SatSeekRandom"]),
        .target(name: "SatSeekGeo", dependencies: ["CGDAL", "SatSeekCatalog", "SatSeekImaging"]),
        .target(name: "SatSeekSearch", dependencies: [
            "SatSeekGeo", "SatSeekImaging", "SatSeekTensor", "SatSeekModels", "SatSeekIndex", "SatSeekCatalog",
            "SatSeekLearning", "SatSeekSketch", "SatSeekStore",
        ]),
        // Measuring and learning from labelled datasets: the evaluators (leave-one-out, splits, feedback, sketch,
        // text hold-out), their metrics, and head training (which reports held-out quality every epoch).
        .target(name: "SatSeekEvaluation", dependencies: [
            "SatSeekSearch", "SatSeekCatalog", "SatSeekIndex", "SatSeekLearning", "SatSeekModels", "SatSeekImaging",
            "SatSeekSketch", "SatSeekTensor", "SatSeekRandom",
        ]),
        .target(name: "SatSeekServer", dependencies: [
            "SatSeekSearch", "SatSeekStore", "SatSeekLearning", "SatSeekGeo", "SatSeekImaging", "SatSeekCatalog", "SatSeekIndex",
            "SatSeekModels",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
        ]),
        // Scale-out store: PostgreSQL + pgvector behind the VectorStore protocol (the CLI's --store).
        .target(name: "SatSeekPostgres", dependencies: [
            "SatSeekCatalog", "SatSeekIndex", "SatSeekStore", .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .executableTarget(name: "satseek", dependencies: [
            "SatSeekPostgres",
            "SatSeekServer", "SatSeekSearch", "SatSeekEvaluation", "SatSeekModels", "SatSeekImaging", "SatSeekCatalog", "SatSeekTensor",
            "SatSeekIndex", "SatSeekStore", "SatSeekGeo", "SatSeekLearning", "SatSeekSketch", "SatSeekRandom",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Helpers shared by the test targets (shared data, temporary folders, model availability, PostgreSQL).
        .target(name: "SatSeekTestSupport", dependencies: ["SatSeekModels", "SatSeekImaging", "SatSeekRandom", "SatSeekTensor"], path: "Tests/SatSeekTestSupport"),
        .testTarget(name: "SatSeekImagingTests", dependencies: ["SatSeekTestSupport", "SatSeekImaging", "CGDAL"]),
        .testTarget(name: "SatSeekTensorTests", dependencies: ["SatSeekTensor", "SatSeekRandom"]),
        .testTarget(name: "SatSeekStoreTests", dependencies: ["SatSeekStore", "SatSeekCatalog", "SatSeekIndex", "SatSeekRandom"]),
        .testTarget(name: "SatSeekCheckpointTests", dependencies: ["SatSeekCheckpoint", "ZIPFoundation"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SatSeekModelsTests", dependencies: ["SatSeekModels", "SatSeekImaging", "SatSeekTensor", "SatSeekTestSupport",
                                                             .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Golden")]),
        .testTarget(name: "SatSeekIndexTests", dependencies: ["SatSeekIndex", "SatSeekRandom"]),
        .testTarget(name: "SatSeekTextTests", dependencies: ["SatSeekText", "SatSeekTestSupport"], resources: [.copy("Golden")]),
        .testTarget(name: "SatSeekCatalogTests", dependencies: ["SatSeekCatalog", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SatSeekLearningTests", dependencies: ["SatSeekLearning", "SatSeekIndex", "SatSeekTensor"]),
        .testTarget(name: "SatSeekGeoTests", dependencies: ["SatSeekGeo", "SatSeekCatalog", "SatSeekTestSupport", "SatSeekRandom", "SatSeekModels"]),
        .testTarget(name: "SatSeekSketchTests", dependencies: ["SatSeekSketch", "SatSeekImaging", "SatSeekRandom"]),
        .testTarget(name: "SatSeekSearchTests", dependencies: ["SatSeekTestSupport", "SatSeekSearch", "SatSeekEvaluation", "SatSeekImaging", "SatSeekStore", "SatSeekCatalog", "SatSeekIndex", "SatSeekLearning", "SatSeekModels", "SatSeekSketch", "SatSeekRandom",
                                                             .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SatSeekPostgresTests", dependencies: ["SatSeekTestSupport", "SatSeekRandom", "SatSeekPostgres", "SatSeekStore", "SatSeekCatalog", "SatSeekIndex", "SatSeekImaging",
                                                               .product(name: "PostgresNIO", package: "postgres-nio")]),
        .testTarget(name: "SatSeekServerTests", dependencies: ["SatSeekTestSupport", "SatSeekServer", "SatSeekStore", "SatSeekLearning",
                                                             .product(name: "WSClient", package: "swift-websocket"),
                                                             .product(name: "Hummingbird", package: "hummingbird"),
                                                             .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                             .product(name: "Logging", package: "swift-log"), "SatSeekSearch", "SatSeekCatalog", "SatSeekModels", "SatSeekGeo", "SatSeekImaging", "CGDAL"]),
    ],
    swiftLanguageModes: [.v6]
)
