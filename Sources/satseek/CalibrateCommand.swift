import ArgumentParser
import Foundation
import SatSeekImaging
import SatSeekModels
import SatSeekSearch

/// `satseek calibrate DIR`: the activation ranges of an EfficientNet-Lite on the user's own images, for int8
/// inference (`--precision int8`).
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract:
            "Measure an EfficientNet-Lite's activation ranges on your images for int8 inference (--precision int8).",
        discussion: """
            Runs the float network over --images images spread evenly over DIR (sorted by path, so every class \
            folder contributes) and stores each activation's minimum and maximum in the model store \
            (calibration/MODEL.json). The int8 model's id ends with the calibration's content id, so an index \
            built in int8 is only ever searched with the same ranges, and never mixed with float32 embeddings. \
            Calibrating again replaces the file (indexes built with the old one then refuse the new model id).

              satseek calibrate ../shared/datasets/rsscn7-mini --model effnet-lite0
              satseek eval ../shared/datasets/aid-mini --precision int8
            """)

    @Argument(help: "Folder of images to calibrate on (searched recursively).") var folder: String
    @Option(help: "Model to calibrate: effnet-lite0|1|2.") var model = ModelStore.defaultModel
    @Option(help: "Number of images (spread evenly over the folder).") var images = 50
    @Flag(help: "Print the calibration's summary as JSON.") var json = false

    func validate() throws {
        // Each image's input tensor is kept for the pass (0.6 MB at 224 px).
        guard (1...1000).contains(images) else { throw ValidationError("--images must be 1…1000") }
    }

    func run() throws {
        try runReportingErrors {
            let store = ModelStore()
            guard let network = try store.load(model) as? EfficientNetLite else {
                throw ValidationError("--model \(model): int8 inference is built for EfficientNet-Lite only")
            }
            let files = try DatasetScanner.scan(folder)
            guard !files.isEmpty else { throw SearchError.invalidInput("\(folder): no images") }
            let chosen = DatasetScanner.evenlySpread(files, count: images)
            let count = chosen.count
            let per = network.inputCount
            var inputs = [Float](repeating: 0, count: count * per)
            var decoded = 0
            inputs.withUnsafeMutableBufferPointer { buffer in
                for file in chosen {
                    // A file that does not decode is skipped with its reason, like `index` does.
                    do {
                        let image = try ImageDecoder.decode(URL(fileURLWithPath: file.path))
                        network.preprocessing.write(
                            image,
                            into: UnsafeMutableBufferPointer(rebasing: buffer[(decoded * per)..<((decoded + 1) * per)]))
                        decoded += 1
                    } catch {
                        printError("skipped \(file.path): \(error)")
                    }
                }
            }
            guard decoded > 0 else { throw SearchError.invalidInput("\(folder): none of the chosen images decodes") }
            let started = Date()
            let calibration = inputs.withUnsafeBufferPointer {
                network.calibrate(UnsafeBufferPointer(rebasing: $0[0..<(decoded * per)]), count: decoded)
            }
            let url = store.calibrationURL(for: model)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try calibration.encoded().write(to: url, options: .atomic)
            let int8 = try QuantizedEfficientNetLite(network, calibration: calibration)
            struct Summary: Codable {
                let model, int8Model, file: String; let images, tensors: Int; let seconds: Double
            }
            let summary = Summary(
                model: network.modelID, int8Model: int8.modelID, file: url.path, images: decoded,
                tensors: calibration.ranges.count, seconds: Date().timeIntervalSince(started))
            if json { return try printJSON(summary) }
            print(
                String(
                    format: "calibrated %@ on %d images of %@ (%d tensors, %.1f s)\n  wrote %@\n  int8 model id %@",
                    network.modelID, decoded, folder, calibration.ranges.count, summary.seconds, url.path,
                    int8.modelID))
        }
    }
}

/// `--precision` of the commands that embed images.
enum Precision: String, ExpressibleByArgument, CaseIterable, Codable {
    case float32, int8
}
