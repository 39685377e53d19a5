import ArgumentParser
import Foundation
import SatSeekLearning
import SatSeekModels
import SatSeekSearch
import SatSeekSketch

/// `satseek train-sketch DIR --out FILE`: a sketch adapter learnt from unlabelled images.
struct TrainSketchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-sketch",
        abstract: "Learn a sketch adapter from your own unlabelled images (no labels, no human sketches).",
        discussion: """
            Every image (up to --images, spread evenly over DIR) is framed like the model's input and cut into \
            14 windows (whole tile, 2×2 of 0.6, 3×3 of 0.45 of the side). Each window is drawn as an edge-trace \
            sketch (edge map traced, segments dropped, jittered, warped, pen 1-5 px; seeded by --seed and the \
            file name) and paired with the window's pooled features from the tile's backbone pass. Two linear \
            maps into a shared space are trained so each drawing lands next to its window (symmetric InfoNCE, \
            the other pairs of a batch as negatives). Then:

              satseek index DIR --db X.satseek --sketch-adapter FILE     # stores 14 window codes per image
              satseek search --db X.satseek --sketch drawing.png          # best window of each tile
            """)

    @Argument(help: "Folder of images to learn from (searched recursively; class folders are not used).")
    var folder: String
    @Option(help: "Where to write the adapter (.satseek-sketch).") var out: String
    @Option(help: "Model whose features the adapter maps: effnet-lite0|1|2.") var model = ModelStore.defaultModel
    @Option(help: "Images used (spread evenly over the folder).") var images = 1000
    @Option(help: "Seed of the drawings, the initialisation and the batch order.") var seed: UInt64 = 11
    @Option(help: "Optimiser steps.") var steps = 600
    @Option(help: "Width of the shared space.") var dimensions = 128
    @Option(help: "Style of the training drawings: edge-trace or contours (evaluate with the other).")
    var generator: SyntheticSketchStyle = .edgeTrace
    @Option(
        help: ArgumentHelp(
            "Keep the drawn pairs in this file, and train from it when it exists (other settings, no drawing; the images, model, seed and generator it was made with are kept).",
            valueName: "file"))
    var pairs: String?
    @Option(help: "Decoupled weight decay of both maps.") var weightDecay: Float = 0.05
    @Option(help: "Softmax temperature.") var temperature: Float = 0.07
    @Flag(help: "Print the adapter's header as JSON.") var json = false

    func validate() throws {
        // Every pair is kept in memory for training: 14 × (1 776 + 1 280) floats, 171 KB an image at lite0.
        guard (2...20_000).contains(images) else { throw ValidationError("--images must be 2…20000") }
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be 1…100000") }
        guard (8...1024).contains(dimensions) else { throw ValidationError("--dimensions must be 8…1024") }
    }

    func run() throws {
        try runReportingErrors {
            let network = try ModelStore().load(model)
            let files = try DatasetScanner.scan(folder)
            guard files.count >= 2 else { throw SearchError.invalidInput("\(folder): fewer than 2 images") }
            var configuration = SketchAdapterConfiguration()
            configuration.seed = seed
            configuration.steps = steps
            configuration.dimensions = dimensions
            configuration.weightDecay = weightDecay
            configuration.temperature = temperature
            let started = Date()
            let bar = ProgressPrinter()
            let trained = try SketchAdapterTraining.train(
                paths: files.map(\.path), model: network, limit: images, seed: seed, style: generator,
                configuration: configuration, pairsFile: pairs,
                progress: { done, total in
                    bar.show(
                        ProgressSnapshot(
                            done: done, total: total, skipped: 0, failed: 0, elapsed: Date().timeIntervalSince(started)
                        ))
                },
                trainingProgress: { step, loss in
                    if !json { printError(String(format: "step %d/%d  loss %.4f", step, steps, loss)) }
                })
            bar.finish()
            for line in trained.skipped { printError("skipped \(line)") }
            try SketchAdapterFile.write(trained.adapter, to: out)
            if json { return try printJSON(trained.adapter.header) }
            let h = trained.adapter.header
            print(
                String(
                    format: "%@: adapter %@ for %@, %d images → %d pairs, %d-d shared space, loss %.4f, %.1f s", out,
                    h.id, h.modelID, h.images, h.pairs, h.sharedDimensions, h.finalLoss,
                    Date().timeIntervalSince(started)))
        }
    }
}
