import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekModels
import SatSeekSearch

/// `satseek bench pipeline`: the indexing pipeline's rate against the network's on the same images,
/// interleaved chunk by chunk in one process.
///
/// This machine's speed drifts by ±20 % between minutes, so two separate runs minutes apart cannot say
/// whether indexing keeps up with the network. Here each round indexes a chunk of files into a fresh
/// catalog (the full ``Indexer`` path: catalog check, decode on the model's workers, embed, SQLite) and runs
/// the network alone on the same chunk's prepared inputs at batch 32, alternating which goes first, a few
/// seconds each. Process start, the folder scan, model loading and the index file written after `index`
/// are not part of either side (`bench/index-vs-network.sh` times the whole command).
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract:
            "Indexing (catalog check + decode + embed + SQLite) against the network alone, interleaved chunk by chunk on the same images."
    )

    @Option(help: "Model to index with.") var model = ModelStore.defaultModel
    @Option(help: "Folder of images; repeat for several (their files are mixed in a fixed shuffled order).")
    var images: [String] = ["../shared/datasets/aid-mini", "../shared/datasets/rsscn7-mini"]
    @Option(help: "Images per chunk (each side of a round).") var chunk = 256
    @Option(help: "Rounds (chunk pairs) timed.") var rounds = 8
    @Option(help: "Network batch size.") var batch = 32
    @Option(help: "Images stored per transaction while indexing (as `index --batch`).") var indexBatch = 32
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Round: Codable {
        let index_images_per_second: Double
        let network_images_per_second: Double
        let ratio: Double
    }

    struct Output: Codable {
        let model: String
        let images: Int
        let chunk: Int
        let rounds: [Round]
        /// All rounds' images over all rounds' seconds, per side.
        let index_images_per_second: Double
        let network_images_per_second: Double
        /// `index_images_per_second / network_images_per_second`.
        let ratio: Double
        let median_round_ratio: Double
    }

    func run() throws {
        try runReportingErrors {
            guard chunk > 0, rounds > 0, batch > 0 else {
                throw ValidationError("--chunk, --rounds and --batch must be positive")
            }
            let embedder = try ModelStore().load(model)
            let files = try Self.mixed(images.map { try DatasetScanner.scan($0) })
            guard !files.isEmpty else {
                throw SearchError.invalidInput("no images in \(images.joined(separator: ", "))")
            }
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-pipeline-\(getpid())")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }

            func chunkFiles(_ round: Int, size: Int) -> [ImageFile] {
                (0..<size).map { files[(round * size + $0) % files.count] }
            }
            func indexSeconds(_ chunk: [ImageFile], round: Int) throws -> Double {
                let path = work.appendingPathComponent("catalog-\(round).satseek").path
                let seconds = try { () throws -> Double in  // the catalog closes when this returns
                    let catalog = try Catalog(path: path, create: true)
                    var indexer = try Indexer(catalog: catalog, model: embedder)
                    indexer.batchSize = indexBatch
                    let start = DispatchTime.now().uptimeNanoseconds
                    let report = try indexer.index(files: chunk)
                    guard report.failures.isEmpty else {
                        throw SearchError.invalidInput("\(report.failures[0].path): \(report.failures[0].reason)")
                    }
                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }()
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                return seconds
            }
            func networkSeconds(_ chunk: [ImageFile]) throws -> Double {
                let per = embedder.inputCount
                var inputs = [Float](repeating: 0, count: chunk.count * per)
                try inputs.withUnsafeMutableBufferPointer { buffer in
                    for (i, file) in chunk.enumerated() {
                        let image = try ImageDecoder.decode(
                            URL(fileURLWithPath: file.path), maxSide: Indexer.decodeMaxSide)
                        embedder.preprocessing.write(
                            image, into: UnsafeMutableBufferPointer(rebasing: buffer[(i * per)..<((i + 1) * per)]))
                    }
                }
                return inputs.withUnsafeBufferPointer { all in
                    let start = DispatchTime.now().uptimeNanoseconds
                    var done = 0
                    while done < chunk.count {
                        let n = min(batch, chunk.count - done)
                        _ = embedder.embed(
                            UnsafeBufferPointer(rebasing: all[(done * per)..<((done + n) * per)]), count: n)
                        done += n
                    }
                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
            }

            // Warm-up, untimed: workspaces, GDAL's drivers, SQLite.
            _ = try networkSeconds(chunkFiles(0, size: min(batch, files.count)))
            _ = try indexSeconds(chunkFiles(0, size: min(batch, files.count)), round: -1)

            var rows: [Round] = []
            var indexTotal = 0.0, networkTotal = 0.0
            for round in 0..<rounds {
                let files = chunkFiles(round, size: chunk)
                let indexFirst = round % 2 == 0
                var index = 0.0, network = 0.0
                if indexFirst { index = try indexSeconds(files, round: round) }
                network = try networkSeconds(files)
                if !indexFirst { index = try indexSeconds(files, round: round) }
                indexTotal += index
                networkTotal += network
                let row = Round(
                    index_images_per_second: Double(chunk) / index,
                    network_images_per_second: Double(chunk) / network, ratio: network / index)
                rows.append(row)
                if !json {
                    printError(
                        String(
                            format: "round %d: index %.1f img/s, network %.1f img/s, ratio %.3f", round + 1,
                            row.index_images_per_second, row.network_images_per_second, row.ratio))
                }
            }
            let ratios = rows.map(\.ratio).sorted()
            let median =
                ratios.count % 2 == 1
                ? ratios[ratios.count / 2]
                : (ratios[ratios.count / 2 - 1] + ratios[ratios.count / 2]) / 2
            let images = Double(chunk * rounds)
            let output = Output(
                model: embedder.modelID, images: chunk * rounds, chunk: chunk, rounds: rows,
                index_images_per_second: images / indexTotal,
                network_images_per_second: images / networkTotal,
                ratio: networkTotal / indexTotal, median_round_ratio: median)
            if json { return try printJSON(output) }
            print(
                String(
                    format:
                        "%@: %d images in %d rounds of %d — index %.1f img/s, network (batch %d) %.1f img/s, index/network %.3f (median round %.3f, %.3f–%.3f)",
                    output.model, output.images, rounds, chunk, output.index_images_per_second, batch,
                    output.network_images_per_second, output.ratio, median, ratios.first!, ratios.last!))
        }
    }

    /// The folders' files in one fixed pseudo-random order (so every chunk mixes the folders).
    static func mixed(_ lists: [[ImageFile]]) throws -> [ImageFile] {
        var files = lists.flatMap { $0 }
        var state: UInt64 = 0x5EED
        for i in stride(from: files.count - 1, to: 0, by: -1) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            files.swapAt(i, Int((state >> 33) % UInt64(i + 1)))
        }
        return files
    }
}
