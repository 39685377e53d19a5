import Foundation
import FuzzSupport
import SatSeekLearning

// Trained-head, text-alignment, sketch-adapter and sketch-pairs files on arbitrary bytes: each must parse or throw a LearningError, and a
// parsed one must run on a feature vector of its input width.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFiles(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let path = fuzzFile(bytes, count, suffix: ".head")
    if let trained = try? HeadFile.read(path), let width = trained.header.architecture.layerSizes.first, width <= 4096 {
        _ = trained.head.embed([Float](repeating: 0.1, count: width), count: 1)
    }
    if let alignment = try? AlignmentFile.read(path), alignment.header.imageDimensions <= 4096 {
        _ = alignment.map([Float](repeating: 0.1, count: alignment.header.imageDimensions), count: 1)
    }
    if let adapter = try? SketchAdapterFile.read(path), adapter.header.sketchDimensions <= 4096,
        adapter.header.regionDimensions <= 4096
    {
        _ = adapter.mapSketches([Float](repeating: 0.1, count: adapter.header.sketchDimensions), count: 1)
        _ = adapter.mapRegions([Float](repeating: 0.1, count: adapter.header.regionDimensions), count: 1)
    }
    _ = try? SketchPairsFile.read(path)
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    // `SATSEEK_FUZZ_SEEDS=DIR`: write small valid files (the writers' own output) as the seed corpus, and stop.
    writeSeedsIfAsked { folder in
        var random = RandomSource(seed: 1)
        for output in [HeadOutput.codes, .float] {
            let architecture = HeadArchitecture(
                inputDimensions: 4, hiddenSizes: [3], outputDimensions: 2, output: output)
            let head = try MLPHead(architecture: architecture, random: &random)
            try HeadFile.write(
                TrainedHead(head: head, backboneModelID: "m", configuration: TrainingConfiguration()),
                to: folder + "/head-\(output.rawValue).head")
        }
        var configuration = SketchAdapterConfiguration()
        configuration.dimensions = 2
        configuration.steps = 1
        let sketches = (0..<12).map { Float($0 % 5) }, regions = (0..<8).map { Float($0 % 3) }
        let adapter = try SketchAdapter.train(
            sketches: sketches, sketchDimensions: 3, regions: regions, regionDimensions: 2, group: [0, 0, 1, 1],
            modelID: "m", images: 2, generator: "seed", configuration: configuration)
        try SketchAdapterFile.write(adapter, to: folder + "/adapter.satseek-sketch")
        try SketchPairsFile.write(
            sketches: sketches, sketchDimensions: 3, regions: regions, regionDimensions: 2, group: [0, 0, 1, 1],
            to: folder + "/pairs.pairs")
    }
}

@_cdecl("FuzzModelFiles_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzerDriver(argc, argv) { fuzzModelFiles($0, $1) }
}
