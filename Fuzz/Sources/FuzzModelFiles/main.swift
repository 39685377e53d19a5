import Foundation
import FuzzSupport
import SatSeekLearning

// Trained-head and text-alignment files on arbitrary bytes: each must parse or throw a LearningError, and a
// parsed one must run on a feature vector of its input width.
// `SATSEEK_FUZZ_SEEDS=DIR`: write a small valid head file as the seed corpus.
if let folder = ProcessInfo.processInfo.environment["SATSEEK_FUZZ_SEEDS"] {
    var random = RandomSource(seed: 1)
    for output in [HeadOutput.codes, .float] {
        let architecture = HeadArchitecture(inputDimensions: 4, hiddenSizes: [3], outputDimensions: 2, output: output)
        let head = try MLPHead(architecture: architecture, random: &random)
        try HeadFile.write(TrainedHead(head: head, backboneModelID: "m", configuration: TrainingConfiguration()),
                           to: folder + "/head-\(output.rawValue).head")
    }
    exit(0)
}

runFuzzer { bytes, count in
    let path = fuzzFile(bytes, count, suffix: ".head")
    if let trained = try? HeadFile.read(path), let width = trained.header.architecture.layerSizes.first, width <= 4096 {
        _ = trained.head.embed([Float](repeating: 0.1, count: width), count: 1)
    }
    if let alignment = try? AlignmentFile.read(path), alignment.header.imageDimensions <= 4096 {
        _ = alignment.map([Float](repeating: 0.1, count: alignment.header.imageDimensions), count: 1)
    }
    return 0
}
