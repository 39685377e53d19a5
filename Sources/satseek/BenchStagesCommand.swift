import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekModels
import SatSeekSearch

/// `satseek bench stages`: what `satseek index` spends per image besides the network, stage by stage,
/// on one thread: reading + hashing the file (the catalog check's share), GDAL decode, resize + centre
/// crop, and normalising into the model's input tensor.
struct BenchStagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Per-image milliseconds of index's stages besides the network (read+hash, decode, resize, normalise)."
    )

    @Option(help: "Model whose preprocessing (resolution, filter) is timed.") var model = ModelStore.defaultModel
    @Option(help: "Folder of images; repeat for several (each timed on its own).")
    var images: [String] = ["../shared/datasets/aid-mini", "../shared/datasets/rsscn7-mini"]
    @Option(help: "Files per folder (the first N, sorted).") var count = 200
    @Option(help: "Timed passes over the files; each stage's fastest pass is reported.") var `repeat` = 3
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Codable {
        let images: String
        let files: Int
        let width: Int
        let height: Int
        let read_hash_ms: Double
        let decode_ms: Double
        let resize_ms: Double
        let normalise_ms: Double
        let total_ms: Double
    }

    func run() throws {
        try runReportingErrors {
            let embedder = try ModelStore().load(model)
            let preprocessing = embedder.preprocessing
            var rows: [Row] = []
            for folder in images {
                let files = try DatasetScanner.scan(folder).prefix(count).map(\.path)
                guard !files.isEmpty else { throw SearchError.invalidInput("\(folder): no images") }
                // One untimed pass: GDAL's driver registration and the page cache are not per-image costs.
                let decoded = try files.map {
                    try ImageDecoder.decode(URL(fileURLWithPath: $0), maxSide: Indexer.decodeMaxSide)
                }
                let resized = decoded.map(preprocessing.resizedAndCropped)
                var input = [Float](repeating: 0, count: preprocessing.tensorCount)
                var best = [Double](repeating: .infinity, count: 4)
                for _ in 0..<max(1, `repeat`) {
                    let stages: [() throws -> Void] = [
                        { for path in files { _ = contentHash(of: try Data(contentsOf: URL(fileURLWithPath: path))) } },
                        {
                            for path in files {
                                _ = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
                            }
                        },
                        { for image in decoded { _ = preprocessing.resizedAndCropped(image) } },
                        {
                            input.withUnsafeMutableBufferPointer { buffer in
                                for image in resized { preprocessing.write(image, into: buffer) }
                            }
                        }
                    ]
                    for (stage, body) in stages.enumerated() {
                        let start = DispatchTime.now().uptimeNanoseconds
                        try body()
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        best[stage] = min(best[stage], seconds * 1000 / Double(files.count))
                    }
                }
                rows.append(
                    Row(
                        images: folder, files: files.count, width: decoded[0].width, height: decoded[0].height,
                        read_hash_ms: best[0], decode_ms: best[1], resize_ms: best[2], normalise_ms: best[3],
                        total_ms: best.reduce(0, +)))
            }
            if json {
                try printJSON(rows)
            } else {
                print(
                    "ms per image, one thread, fastest of \(max(1, `repeat`)) passes (\(embedder.modelID), \(preprocessing.resolution) px):"
                )
                print("images".padded(40) + " files   first size   read+hash  decode  resize  normalise  total")
                for row in rows {
                    print(
                        row.images.padded(40)
                            + String(
                                format: " %5d  %4d×%-4d     %8.3f  %6.3f  %6.3f  %9.3f  %5.3f",
                                row.files, row.width, row.height, row.read_hash_ms,
                                row.decode_ms, row.resize_ms, row.normalise_ms, row.total_ms))
                }
            }
        }
    }
}
