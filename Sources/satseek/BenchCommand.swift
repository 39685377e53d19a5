import ArgumentParser
import Foundation
import SatSeekImaging
import SatSeekTensor
import SatSeekSearch
import SatSeekModels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (compare with peers via bench/compare-embed.sh).",
        subcommands: [
            Embed.self, BenchStagesCommand.self, BenchPipelineCommand.self, BenchIndexCommand.self,
            BenchHNSWUpdateCommand.self, BenchStoreCommand.self, BenchSketchCommand.self
        ])

    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Images per second of the embedding network alone (decode and preprocessing not timed).")

        @Option(help: "Model to benchmark.") var model = ModelStore.defaultModel
        @Option(help: "Arithmetic of the network: float32, or int8 (after `satseek calibrate DIR`).")
        var precision: Precision = .float32
        @Option(help: "Folder of images to embed.") var images = "../shared/datasets/aid-mini"
        @Option(help: "Number of images (cycled if the folder has fewer).") var count = 64
        @Option(name: .customLong("batch"), help: "Batch size; repeat for several.") var batches: [Int] = [1, 32]
        @Option(
            help: "Timed loops per batch size; the fastest is reported (as bench/compare_embed.py does for the peers).")
        var `repeat` = 3
        @Flag(help: "Print JSON on stdout.") var json = false
        @Flag(
            help:
                "Also print where the time goes, per operation kind and resolution (batch 1, each layer's fastest of 3 passes over the images)."
        ) var profile = false

        struct Result: Codable { let batch: Int; let images_per_second: Double; let seconds: Double; let images: Int }
        struct Output: Codable {
            let model: String; let resolution: Int; let threads: Int; let results: [Result]
            /// GDAL decode + resize + normalise, one thread, per image.
            let decode_ms_per_image: Double
            /// The resize + normalise part of `decode_ms_per_image`.
            let preprocess_ms_per_image: Double
        }

        func run() throws {
            try runReportingErrors {
                let embedder = try ModelStore().load(ModelStore.spec(model, int8: precision == .int8))
                let files = try DatasetScanner.scan(images)
                guard !files.isEmpty else { throw SearchError.invalidInput("\(images): no images") }
                let per = embedder.inputCount
                var inputs = [Float](repeating: 0, count: count * per)
                // Decoding and preprocessing are timed too (one thread, each file once): what `satseek
                // index` spends per image besides the network, on the same cores. One untimed decode first:
                // GDAL's driver registration is not a per-image cost (`bench stages` splits the stages).
                _ = try ImageDecoder.decode(URL(fileURLWithPath: files[0].path))
                let decodeStart = Date()
                let decoded = try files.prefix(count).map { try ImageDecoder.decode(URL(fileURLWithPath: $0.path)) }
                let preprocessStart = Date()
                inputs.withUnsafeMutableBufferPointer { buffer in
                    for i in 0..<count {
                        embedder.preprocessing.write(
                            decoded[i % decoded.count],
                            into: UnsafeMutableBufferPointer(rebasing: buffer[(i * per)..<((i + 1) * per)]))
                    }
                }
                let preprocessEnd = Date()
                // Each file is decoded once but preprocessed once per use (`count` may exceed the files).
                let preprocessMilliseconds = preprocessEnd.timeIntervalSince(preprocessStart) * 1000 / Double(count)
                let decodeMilliseconds =
                    preprocessStart.timeIntervalSince(decodeStart) * 1000 / Double(decoded.count)
                    + preprocessMilliseconds
                var results: [Result] = []
                for batch in batches where batch > 0 {
                    inputs.withUnsafeBufferPointer { all in
                        _ = embedder.embed(
                            UnsafeBufferPointer(rebasing: all[0..<(min(batch, count) * per)]), count: min(batch, count))
                    }
                    var seconds = Double.infinity
                    for _ in 0..<max(1, `repeat`) {
                        let start = Date()
                        var done = 0
                        while done < count {
                            let n = min(batch, count - done)
                            inputs.withUnsafeBufferPointer { all in
                                _ = embedder.embed(
                                    UnsafeBufferPointer(rebasing: all[(done * per)..<((done + n) * per)]), count: n)
                            }
                            done += n
                        }
                        seconds = min(seconds, Date().timeIntervalSince(start))
                    }
                    results.append(
                        Result(
                            batch: batch, images_per_second: Double(count) / seconds, seconds: seconds, images: count))
                }
                if profile {
                    let layers = LayerProfile()
                    inputs.withUnsafeBufferPointer { all in
                        for _ in 0..<3 {
                            for i in 0..<count {
                                _ = embedder.embed(
                                    UnsafeBufferPointer(rebasing: all[(i * per)..<((i + 1) * per)]), count: 1,
                                    profile: layers)
                            }
                        }
                    }
                    let fastest = layers.fastestPerCall(runs: 3 * count)
                    let total = fastest.reduce(0) { $0 + $1.seconds }
                    printError(
                        "per-image time by operation (batch 1, \(count) images × 3 passes, each layer's fastest call, \(String(format: "%.2f", total * 1000)) ms/image):"
                    )
                    for entry in fastest.sorted(by: { $0.seconds > $1.seconds }) {
                        printError(
                            "  " + entry.name.padded(28)
                                + String(
                                    format: "%7.3f ms  %5.1f %%", entry.seconds * 1000, 100 * entry.seconds / total))
                    }
                }
                let output = Output(
                    model: embedder.modelID, resolution: embedder.preprocessing.resolution,
                    threads: ProcessInfo.processInfo.activeProcessorCount, results: results,
                    decode_ms_per_image: decodeMilliseconds,
                    preprocess_ms_per_image: preprocessMilliseconds)
                if json { return try printJSON(output) }
                print(
                    "\(output.model) at \(output.resolution)×\(output.resolution), \(output.threads) threads, \(count) images"
                )
                for r in results { print(String(format: "  batch %3d: %8.1f img/s", r.batch, r.images_per_second)) }
                print(
                    String(
                        format:
                            "  decode + preprocess (GDAL, one thread): %.2f ms/image, of which resize + normalise %.2f ms",
                        output.decode_ms_per_image, output.preprocess_ms_per_image))
            }
        }
    }
}
