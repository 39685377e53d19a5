import Foundation
import FuzzSupport
import SatSeekLearning

// Trained-head and text-alignment files on arbitrary bytes: each must parse or throw a LearningError, and a
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
    }
}

@_cdecl("FuzzModelFiles_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzerDriver(argc, argv) { fuzzModelFiles($0, $1) }
}
