import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels
import SatSeekSketch

/// Stores every indexed image's window codes for region sketch matching: the pooled head features of the
/// windows of `RegionGrid.standard`, mapped into a sketch adapter's shared space (`grid.count ×
/// shared dimensions` floats per image, kind `sketch-regions:<adapter id>`).
public struct SketchRegionAuxiliary: AuxiliaryEmbedding {
    /// Note key under which the catalog keeps the adapter file's path.
    public static let adapterNote = "sketch.adapter"

    public let embedder: SketchEmbedder
    public let adapter: SketchAdapter
    /// Where the adapter file is (kept with the catalog so searches find it).
    public let adapterPath: String
    public let grid: RegionGrid

    public var kind: String { adapter.kind }
    public var dimensions: Int { grid.count * adapter.header.sharedDimensions }

    /// - Throws: `SketchError.unsupportedModel` for a backbone without multi-level features;
    ///   `SearchError.invalidInput` when the adapter was trained on another model.
    public init(model: any ImageEmbedder, adapterPath: String, grid: RegionGrid = .standard) throws {
        embedder = try SketchEmbedder(model: model)
        adapter = try SketchAdapterFile.read(adapterPath, for: model, sketchDimensions: embedder.dimensions)
        self.adapterPath = URL(fileURLWithPath: adapterPath).standardizedFileURL.path
        self.grid = grid
    }

    public func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] {
        adapter.mapRegions(embedder.regionDescriptors(ofImages: images, grid: grid), count: images.count * grid.count)
    }

    public func prepare(catalog: Catalog) throws {
        try catalog.setNote(Self.adapterNote, adapterPath)
    }
}

extension SketchAdapterFile {
    /// An adapter file checked against the model it will map features of.
    /// - Throws: the file's error; `SearchError.invalidInput` naming the file and both models when it was trained on
    ///   another model or reads features of other widths.
    static func read(_ path: String, for model: any ImageEmbedder, sketchDimensions: Int) throws -> SketchAdapter {
        let adapter = try read(path)
        let header = adapter.header
        guard header.modelID == model.modelID, header.regionDimensions == model.dimensions,
            header.sketchDimensions == sketchDimensions
        else {
            throw SearchError.invalidInput(
                "\(path): the sketch adapter was trained on \(header.modelID) (\(header.sketchDimensions)-d drawings, \(header.regionDimensions)-d windows), the index uses \(model.modelID) (\(sketchDimensions), \(model.dimensions))"
            )
        }
        return adapter
    }
}

/// A tile's best-matching window for a sketch.
public struct SketchRegionHit: Sendable, Equatable {
    public let id: Int64
    public let score: Float
    /// The window of `RegionGrid` that matched best.
    public let window: Int
}

/// Exact top-k of tiles by their best window: each stored tile has `windows` codes; a tile's score for a
/// query is the largest cosine between any of its windows and any transformed copy of the sketch.
public struct SketchRegionIndex: Sendable {
    /// Tile ids, in row order.
    public let ids: [Int64]
    /// Codes per tile.
    public let windows: Int
    /// One row per (tile, window): row id `tile position × windows + window`.
    let rows: FlatIndex
    let position: [Int64: Int]

    /// - Parameters:
    ///   - vectors: `ids.count × windows × dimensions` floats (unit rows).
    public init(ids: [Int64], vectors: [Float], windows: Int, dimensions: Int) {
        precondition(vectors.count == ids.count * windows * dimensions, "SketchRegionIndex: vector count")
        self.ids = ids
        self.windows = windows
        position = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        rows = FlatIndex(
            dimensions: dimensions, metric: .cosine, ids: (0..<(ids.count * windows)).map(Int64.init), vectors: vectors)
    }

    /// Length of a code.
    public var dimensions: Int { rows.dimensions }

    /// Best tiles for the rows of `variants` (one mapped copy of the query per row).
    ///
    /// Exact: a tile among the overall top k has its best (copy, window) row among that copy's top
    /// `k × windows` rows, since at most `windows` rows of each better tile can precede it.
    public func search(variants: [Float], k: Int, excluding: Set<Int64> = []) -> [SketchRegionHit] {
        let copies = variants.count / dimensions
        guard copies > 0, k > 0 else { return [] }
        var excludedRows = Set<Int64>()
        for id in excluding {
            if let p = position[id] { for w in 0..<windows { excludedRows.insert(Int64(p * windows + w)) } }
        }
        let perCopy = rows.search(
            batch: variants, k: k * windows, excluding: Array(repeating: excludedRows, count: copies))
        var best: [Int: (score: Float, window: Int)] = [:]
        for hits in perCopy {
            for hit in hits {
                let tile = Int(hit.id) / windows
                if hit.score > best[tile]?.score ?? -.infinity { best[tile] = (hit.score, Int(hit.id) % windows) }
            }
        }
        return best.map { SketchRegionHit(id: ids[$0.key], score: $0.value.score, window: $0.value.window) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
            .prefix(k).map { $0 }
    }
}

/// `satseek train-sketch`: pairs (a drawing of a window, the window's features) from unlabelled
/// photographs, then the adapter.
public enum SketchAdapterTraining {
    /// Builds training pairs from up to `limit` image files spread evenly over `paths` and trains.
    /// - Parameters:
    ///   - progress: Called after every group of images with (done, total).
    ///   - trainingProgress: Called every 50 steps with (step, loss).
    public static func train(
        paths: [String], model: any ImageEmbedder, limit: Int, seed: UInt64, style: SyntheticSketchStyle,
        configuration: SketchAdapterConfiguration, grid: RegionGrid = .standard, pairsFile: String? = nil,
        progress: (Int, Int) -> Void = { _, _ in }, trainingProgress: (Int, Double) -> Void = { _, _ in }
    ) throws -> (adapter: SketchAdapter, skipped: [String]) {
        let embedder = try SketchEmbedder(model: model)
        if let pairsFile, FileManager.default.fileExists(atPath: pairsFile) {
            let kept = try SketchPairsFile.read(pairsFile)
            guard kept.sketchDimensions == embedder.dimensions, kept.regionDimensions == model.dimensions else {
                throw SearchError.invalidInput("\(pairsFile): pairs of another model's widths")
            }
            let adapter = try SketchAdapter.train(
                sketches: kept.sketches, sketchDimensions: kept.sketchDimensions, regions: kept.regions,
                regionDimensions: kept.regionDimensions, group: kept.group, modelID: model.modelID,
                images: Set(kept.group).count, generator: style.rawValue, configuration: configuration,
                progress: trainingProgress)
            return (adapter, [])
        }
        let chosen = DatasetScanner.evenlySpread(paths.sorted(), count: limit)
        var edgeTraces = SketchSynthesizer(canvas: embedder.normalizer.canvas)
        edgeTraces.detector = embedder.detector
        let traces = edgeTraces, contours = ContourSketchSynthesizer(canvas: embedder.normalizer.canvas)
        let synthesize: @Sendable (RGBImage, UInt64) -> RGBImage = { image, seed in
            style == .contours
                ? contours.synthesize(from: image, seed: seed) : traces.synthesize(from: image, seed: seed)
        }
        var pairs = SketchTrainingPairs()
        var skipped: [String] = []
        var used = 0
        for start in stride(from: 0, to: chosen.count, by: 8) {
            let group = Array(chosen[start..<min(chosen.count, start + 8)])
            var images: [RGBImage] = [], keys: [String] = []
            for path in group {
                do {
                    images.append(try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide))
                    keys.append(URL(fileURLWithPath: path).lastPathComponent)
                } catch {
                    skipped.append("\(error)")
                }
            }
            let made = embedder.trainingPairs(
                images: images, keys: keys, grid: grid, seed: seed, synthesize: synthesize)
            pairs.sketches += made.sketches
            pairs.regions += made.regions
            pairs.group += made.group.map { $0 + used }
            pairs.blank += made.blank
            used += images.count
            progress(min(chosen.count, start + 8), chosen.count)
        }
        guard used >= 2 else {
            throw SearchError.invalidInput("a sketch adapter needs at least 2 readable images (found \(used))")
        }
        if let pairsFile {
            try SketchPairsFile.write(
                sketches: pairs.sketches, sketchDimensions: embedder.dimensions, regions: pairs.regions,
                regionDimensions: model.dimensions, group: pairs.group, to: pairsFile)
        }
        let adapter = try SketchAdapter.train(
            sketches: pairs.sketches, sketchDimensions: embedder.dimensions, regions: pairs.regions,
            regionDimensions: model.dimensions, group: pairs.group, modelID: model.modelID, images: used,
            generator: style.rawValue, configuration: configuration, progress: trainingProgress)
        return (adapter, skipped)
    }
}
