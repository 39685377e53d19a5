import ArgumentParser
import Foundation
import SatSeekImaging
import SatSeekModels
import SatSeekRandom
import SatSeekSearch
import SatSeekTensor

/// `satseek bench sketch`: what a window-by-window sketch query costs — turning the drawing into its mapped
/// copies, and scanning the tiles' window codes — at the index's size and at larger archives made of its
/// codes with noise.
struct BenchSketchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sketch",
        abstract:
            "Milliseconds per sketch query: drawing → mapped copies, and the window-code scan at several archive sizes."
    )

    @Option(help: "Index built with --sketch-adapter.") var db: String
    @Option(help: "The index's model.") var model = ModelStore.defaultModel
    @Option(help: "Folder of sketch files used as queries (searched recursively).") var sketches: String
    @Option(
        help:
            "Archive sizes to scan, in tiles; sizes above the index's are its codes repeated with noise (σ 0.05, renormalised); repeat for several."
    )
    var tiles: [Int] = []
    @Option(help: "Results per query.") var k = 20
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Codable {
        let tiles: Int
        let windows: Int
        let queries: Int
        let embed_ms: Double
        let scan_ms: Double
        let codes_mb: Double
    }

    func run() throws {
        try runReportingErrors {
            let session = try SearchSession(db: db, model: model, create: false)
            let catalog = session.catalog
            let searcher = try session.sketchSearcher()
            guard let regions = searcher.regions else {
                throw SearchError.invalidInput("\(db): no window codes; index with --sketch-adapter FILE")
            }
            let files = try DatasetScanner.scan(sketches).map(\.path)
            guard !files.isEmpty else { throw SearchError.invalidInput("\(sketches): no sketch files") }
            var variants: [[Float]] = []
            let started = Date()
            for path in files {
                let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
                variants.append(searcher.queryVectors(try searcher.embedder.rendering(ofSketch: image)))
            }
            let embedMs = Date().timeIntervalSince(started) * 1000 / Double(files.count)
            let stored = try catalog.embeddings(kind: regions.adapter.kind)
            let width = stored.dimensions, windows = regions.index.windows
            var rows: [Row] = []
            for size in tiles.isEmpty ? [stored.ids.count] : tiles {
                var random = SplitMix64(seed: 7)
                // Window codes row by row: the index's own, then the same again with noise.
                let dims = width / windows, storedRows = stored.ids.count * windows
                var vectors = [Float](repeating: 0, count: size * width)
                vectors.withUnsafeMutableBufferPointer { out in
                    for row in 0..<(size * windows) {
                        let code = UnsafeMutableBufferPointer(rebasing: out[(row * dims)..<((row + 1) * dims)])
                        for d in 0..<dims {
                            let noise = row < storedRows ? 0 : Float(random.gaussian() * 0.05)
                            code[d] = stored.vectors[(row % storedRows) * dims + d] + noise
                        }
                        l2Normalize(code)
                    }
                }
                let index = SketchRegionIndex(
                    ids: (0..<size).map(Int64.init), vectors: vectors, windows: windows, dimensions: dims)
                _ = index.search(variants: variants[0], k: k)  // warm-up
                let scanStart = Date()
                for query in variants { _ = index.search(variants: query, k: k) }
                rows.append(
                    Row(
                        tiles: size, windows: windows, queries: variants.count, embed_ms: embedMs,
                        scan_ms: Date().timeIntervalSince(scanStart) * 1000 / Double(variants.count),
                        codes_mb: Double(size * width * 4) / 1e6))
            }
            if json { return try printJSON(rows) }
            print(
                "tiles".padded(10) + "windows".padded(9) + "queries".padded(9) + "embed ms".padded(10)
                    + "scan ms".padded(10) + "codes MB")
            for r in rows {
                print(
                    String(r.tiles).padded(10) + String(r.windows).padded(9) + String(r.queries).padded(9)
                        + String(format: "%.1f", r.embed_ms).padded(10) + String(format: "%.2f", r.scan_ms).padded(10)
                        + String(format: "%.1f", r.codes_mb))
            }
        }
    }
}
