import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels
import SatSeekSketch

/// Stores a sketch-domain embedding (edge rendering → multi-level backbone features) with every indexed
/// image, under the kind `"sketch"`; `satseek index --sketchable` adds it to the indexer.
public struct SketchAuxiliary: AuxiliaryEmbedding {
    /// Storage kind of sketch-domain embeddings.
    public static let kind = "sketch"

    /// The shared sketch/photo embedder.
    public let embedder: SketchEmbedder

    /// `"sketch"`.
    public var kind: String { Self.kind }
    /// Length of a sketch-domain embedding.
    public var dimensions: Int { embedder.dimensions }

    /// - Throws: `SketchError.unsupportedModel` for a backbone without multi-level features.
    public init(model: any ImageEmbedder) throws {
        embedder = try SketchEmbedder(model: model)
    }

    /// Edge renderings of the decoded images, embedded (the backbone vectors are not needed).
    public func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] {
        embedder.embed(images: images)
    }
}

/// Sketch→image search: a drawn outline is normalised, embedded in each of its `rotations` and compared
/// with the archive; an image's score is its best cosine similarity over the sketch's transformed copies
/// (and, with a sketch adapter, over the tile's windows).
///
/// Two matchers, chosen by what the index holds: window codes of a sketch adapter (`index
/// --sketch-adapter`; the catalog notes the adapter's file), or else the zero-shot whole-tile sketch
/// embeddings (`index --sketchable`).
public struct SketchSearcher: Sendable {
    /// The index searched.
    public let catalog: Catalog
    /// Normalises and embeds query sketches.
    public let embedder: SketchEmbedder
    /// Transformed copies of the query that are tried (max-pooled scores).
    public var rotations: SketchRotations
    /// The zero-shot whole-tile embeddings, centred (nil when the index has window codes).
    public let index: SketchIndex?
    /// The adapter and the tiles' window codes (nil without an adapter).
    public let regions: (adapter: SketchAdapter, index: SketchRegionIndex, grid: RegionGrid)?

    /// - Throws: `CatalogError.modelMismatch` for an index built by another model; `SearchError.notFound` when the
    ///   index has no sketch embeddings (built without `--sketchable` or `--sketch-adapter`);
    ///   `SearchError.invalidInput` when they have another length, or the adapter the catalog names is missing its
    ///   window codes or was trained on another model; the adapter file's error when it cannot be read.
    public init(catalog: Catalog, model: any ImageEmbedder, rotations: SketchRotations = .dihedral) throws {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput(
                "\(catalog.path): the index is empty; run `satseek index DIR --sketchable` first")
        }
        guard binding.modelID == model.modelID else {
            throw CatalogError.modelMismatch(path: catalog.path, indexModel: binding.modelID, requested: model.modelID)
        }
        embedder = try SketchEmbedder(model: model)
        self.catalog = catalog
        self.rotations = rotations
        if let path = try catalog.note(SketchRegionAuxiliary.adapterNote) {
            let adapter = try SketchAdapterFile.read(path, for: model, sketchDimensions: embedder.dimensions)
            let grid = RegionGrid.standard
            let stored = try catalog.embeddings(kind: adapter.kind)
            guard !stored.ids.isEmpty, stored.dimensions == grid.count * adapter.header.sharedDimensions else {
                throw SearchError.invalidInput(
                    "\(catalog.path): no window codes of the sketch adapter \(path); re-run `satseek index DIR --db \(catalog.path) --sketch-adapter \(path)`"
                )
            }
            regions = (
                adapter,
                SketchRegionIndex(
                    ids: stored.ids, vectors: stored.vectors, windows: grid.count,
                    dimensions: adapter.header.sharedDimensions),
                grid
            )
            index = nil
            return
        }
        regions = nil
        let stored = try catalog.embeddings(kind: SketchAuxiliary.kind)
        guard !stored.ids.isEmpty else {
            throw SearchError.notFound(
                "\(catalog.path): the index has no sketch embeddings; re-run `satseek index DIR --db \(catalog.path) --sketch-adapter FILE` (or `--sketchable`)"
            )
        }
        guard stored.dimensions == embedder.dimensions else {
            throw SearchError.invalidInput(
                "\(catalog.path): stored sketch embeddings have \(stored.dimensions) values, this version computes \(embedder.dimensions); re-run `satseek index DIR --sketchable` on a new index"
            )
        }
        index = SketchIndex(ids: stored.ids, vectors: stored.vectors, dimensions: stored.dimensions)
    }

    /// The `k` indexed images best matching a sketch file (PNG, JPEG, … — dark or light strokes on a plain
    /// background).
    public func search(sketchAt path: String, k: Int) throws -> [SearchResult] {
        try search(sketch: ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide), k: k)
    }

    /// The `k` indexed images best matching an uploaded sketch.
    public func search(sketchData data: Data, name: String, k: Int) throws -> [SearchResult] {
        try search(sketch: ImageDecoder.decode(data: data, name: name, maxSide: Indexer.decodeMaxSide), k: k)
    }

    /// The `k` indexed images best matching a decoded sketch; with window codes each result carries the
    /// window that matched.
    /// - Throws: `SketchError.empty` for a blank drawing.
    public func search(sketch: RGBImage, k: Int) throws -> [SearchResult] {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let variants = queryVectors(try embedder.rendering(ofSketch: sketch))
        if let regions {
            let hits = regions.index.search(variants: variants, k: k)
            let window = Dictionary(uniqueKeysWithValues: hits.map { ($0.id, $0.window) })
            return try SearchResult.ranked(hits.map { SearchHit(id: $0.id, score: $0.score) }, catalog: catalog).map {
                var result = $0
                result.region = window[$0.id].map { regions.grid.boxes[$0] }
                return result
            }
        }
        return try SearchResult.ranked(search(variants: variants, k: k), catalog: catalog)
    }

    /// The query's vectors: its rendering in each of `rotations`, embedded (and mapped by the adapter).
    public func queryVectors(_ rendering: BinaryMask) -> [Float] {
        let vectors = embedder.embed(sketchRendering: rendering, rotations: rotations)
        guard let regions else { return vectors }
        return regions.adapter.mapSketches(vectors, count: rotations.transforms.count)
    }

    /// Max-pooled top-k over the rows of `variants` (one embedded copy of the query per row).
    public func search(variants: [Float], k: Int, excluding: Set<Int64> = []) -> [SearchHit] {
        if let regions {
            return regions.index.search(variants: variants, k: k, excluding: excluding).map {
                SearchHit(id: $0.id, score: $0.score)
            }
        }
        return index!.search(variants: variants, k: k, excluding: excluding)
    }
}

/// Exact cosine search over sketch-domain embeddings, centred on the archive's mean, with max pooling
/// over a query's transformed copies.
///
/// Every edge rendering shares a large common component (white canvas, strokes of one width), which
/// makes all cosine similarities high and similar. Subtracting the mean embedding of the archive from the
/// stored vectors and from every query removes it; the mean is a statistic of the unlabelled archive
/// itself, recomputed whenever the index is loaded, so no training data is involved.
public struct SketchIndex: Sendable {
    /// The centred, normalised vectors.
    public let index: FlatIndex
    /// Mean of the stored vectors (subtracted from queries too); `nil` when not centred.
    public let mean: [Float]?

    /// - Parameter centred: Subtract the archive mean (default) or use the raw embeddings.
    public init(ids: [Int64], vectors: [Float], dimensions: Int, centred: Bool = true) {
        let mean = centred ? Self.columnMeans(vectors, dimensions: dimensions) : nil
        self.mean = mean
        index = FlatIndex(
            dimensions: dimensions, metric: .cosine, ids: ids,
            vectors: mean.map { Self.subtracting($0, from: vectors) } ?? vectors)
    }

    /// Length of the stored vectors.
    public var dimensions: Int { index.dimensions }

    /// Max-pooled top-k over the rows of `variants` (one embedded copy of the query per row).
    ///
    /// Exact: an item among the overall top k by its best score is among the top k of the copy where it
    /// scores best, so merging each copy's top k and keeping every id's maximum loses nothing.
    public func search(variants: [Float], k: Int, excluding: Set<Int64> = []) -> [SearchHit] {
        let copies = variants.count / index.dimensions
        guard copies > 0, k > 0 else { return [] }
        let queries = mean.map { Self.subtracting($0, from: variants) } ?? variants
        let perCopy = index.search(batch: queries, k: k, excluding: Array(repeating: excluding, count: copies))
        var best: [Int64: Float] = [:]
        for hits in perCopy {
            for hit in hits where hit.score > best[hit.id, default: -.infinity] { best[hit.id] = hit.score }
        }
        return best.map { SearchHit(id: $0.key, score: $0.value) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
            .prefix(k).map { $0 }
    }

    /// Column means of a row-major matrix.
    static func columnMeans(_ vectors: [Float], dimensions: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: dimensions)
        let rows = vectors.count / dimensions
        guard rows > 0 else { return mean }
        for r in 0..<rows { for c in 0..<dimensions { mean[c] += vectors[r * dimensions + c] } }
        return mean.map { $0 / Float(rows) }
    }

    /// Every row minus `mean`.
    static func subtracting(_ mean: [Float], from vectors: [Float]) -> [Float] {
        vectors.enumerated().map { $0.element - mean[$0.offset % mean.count] }
    }
}

extension SearchSession {
    /// A sketch searcher over this session's index (which must have been built with `--sketchable`).
    public func sketchSearcher(rotations: SketchRotations = .dihedral) throws -> SketchSearcher {
        try SketchSearcher(catalog: catalog, model: model, rotations: rotations)
    }
}
