import SatSeekSearch
import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekModels
import SatSeekSketch
import SatSeekTensor
import SatSeekRandom

/// Sketch retrieval quality, side by side with image→image retrieval and a random ranking.
public struct SketchEvaluation: Sendable, Codable {
    /// mAP@K and P@K of one method.
    public struct Score: Sendable, Codable {
        /// mAP@K over the queries.
        public var meanAveragePrecision: Double
        /// Mean P@K over the queries.
        public var precision: Double
    }
    /// Scores of one class. `queries` counts sketch queries; the image column is leave-one-out over
    /// the archive images of the class, the random column uses the sketch queries' archives.
    public struct ClassScore: Sendable, Codable {
        /// The class (folder name).
        public let className: String
        /// Sketch queries of this class.
        public let queries: Int
        /// Sketch→image retrieval.
        public let sketch: Score
        /// Image→image retrieval (leave-one-out over the archive images of the class).
        public let image: Score
        /// A seeded random ranking of each sketch query's archive.
        public let random: Score
    }
    /// `"synthetic"` or the folder of real sketches.
    public let source: String
    /// The synthetic queries' style (nil for real sketches).
    public let generator: SyntheticSketchStyle?
    /// Id of the adapter whose window codes were matched (nil: the zero-shot whole-tile descriptor).
    public let adapterID: String?
    /// Seed of the query synthesiser and the random baseline.
    public let seed: UInt64
    /// Cut-off rank K.
    public let k: Int
    /// The index's model.
    public let modelID: String
    /// Query copies tried (max-pooled scores).
    public let rotations: SketchRotations
    /// Backbone levels of the sketch descriptor (`stage2`, …, `head`).
    public let levels: [String]
    /// Whether sketch embeddings were centred on the archive mean.
    public let centred: Bool
    /// Sketch queries run.
    public let queries: Int
    /// Classes with at least one query.
    public let classes: Int
    /// Images in the archive searched.
    public let archiveSize: Int
    /// Sketch→image retrieval over all queries.
    public let sketch: Score
    /// Image→image leave-one-out retrieval over the queried classes.
    public let image: Score
    /// The random ranking.
    public let random: Score
    /// Expected mAP@K of a random ranking ≈ mean fraction of relevant archive items.
    public let chanceLevel: Double
    /// Queries whose sketch came out blank (no edges survived); they score 0.
    public let emptyQueries: Int
    /// Files that could not be used as queries, with the reason.
    public let skipped: [String]
    /// Scores per class, sorted by name.
    public let perClass: [ClassScore]
    /// Wall-clock time of the query phase.
    public let seconds: Double
}

/// Evaluates sketch→image retrieval on an index built with sketch embeddings (`--sketchable`), where the
/// class of an image is its folder name.
///
/// * Synthetic queries (no sketch data needed): every indexed image in turn is held out; a sketch-like
///   drawing is synthesised from it by `SketchSynthesizer` with the seed
///   `SplitMix64.seed(seed, key: "<class>/<file name>")`, normalised like a real sketch and searched
///   against all *other* archive images. Relevant = same class. The query image itself is excluded, so the
///   score cannot come from matching a picture with its own edge map.
/// * Real sketches: every image file of a folder is a query against the whole archive; its class is the
///   sub-folder it is in, or else the archive class its file name starts with (case and punctuation
///   ignored, longest match: `storage-tanks_03.png` → `StorageTanks`).
///
/// Sketch scores come from `SketchIndex` exactly as `SketchSearcher` computes them (archive-mean centring,
/// best score over the query's `rotations`). AP@K and P@K are `RetrievalMetrics`' (AP normalised by
/// min(K, R)); the random baseline ranks each query's archive by a seeded shuffle.
public struct SketchEvaluator: Sendable {
    /// The index evaluated.
    public let catalog: Catalog
    /// The sketch embedder; changing its `spec` (an ablation) makes the evaluation recompute the archive's
    /// sketch embeddings from the image files instead of reading the stored ones.
    public var embedder: SketchEmbedder
    /// Cut-off rank K.
    public var k: Int
    /// Seed of the query synthesiser and the random baseline.
    public var seed: UInt64
    /// Query copies tried (max-pooled scores).
    public var rotations: SketchRotations = .dihedral
    /// Centre sketch embeddings on the archive mean (as `SketchSearcher` does).
    public var centred = true
    /// Queries rendered and embedded together.
    public var batchSize = 8
    /// Match sketches with tile windows through this adapter (`index --sketch-adapter`) instead of the
    /// zero-shot whole-tile descriptor.
    public var adapter: SketchAdapter?
    /// Style of the synthetic queries; evaluate an adapter with a style it was not trained on.
    public var generator: SyntheticSketchStyle = .edgeTrace

    /// - Throws: `SearchError.invalidInput` for k ≤ 0; `SketchError.unsupportedModel` for a backbone
    ///   without multi-level features.
    public init(catalog: Catalog, model: any ImageEmbedder, k: Int, seed: UInt64) throws {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        self.catalog = catalog
        self.embedder = try SketchEmbedder(model: model)
        self.k = k
        self.seed = seed
    }

    /// The archive as seen by the evaluation: items with both embeddings.
    struct Archive {
        let ids: [Int64]
        let labels: [String]
        let paths: [String]
        let sketchIndex: SketchIndex?
        let regionIndex: SketchRegionIndex?
        let imageIndex: FlatIndex
        let imageVectors: [Float]
        let classSizes: [String: Int]
        let modelID: String
    }

    func loadArchive() throws -> Archive {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): nothing indexed")
        }
        let kind = adapter?.kind ?? SketchAuxiliary.kind
        var sketches = try catalog.embeddings(kind: kind)
        guard !sketches.ids.isEmpty else {
            throw SearchError.invalidInput(
                "\(catalog.path): no sketch embeddings of kind \(kind); index with --sketchable")
        }
        if adapter == nil, embedder.spec != .standard { sketches = try recomputed(sketches.ids) }
        let expected = adapter.map { RegionGrid.standard.count * $0.header.sharedDimensions } ?? embedder.dimensions
        guard sketches.dimensions == expected else {
            throw SearchError.invalidInput(
                "\(catalog.path): sketch embeddings of \(sketches.dimensions) values, expected \(expected); rebuild the index"
            )
        }
        let images = try catalog.embeddings()
        let row = Dictionary(uniqueKeysWithValues: images.ids.enumerated().map { ($1, $0) })
        let ids = sketches.ids.filter { row[$0] != nil }
        let records = try catalog.records(ids: ids)
        let sketchRow = Dictionary(uniqueKeysWithValues: sketches.ids.enumerated().map { ($1, $0) })
        var sketchVectors: [Float] = [], imageVectors: [Float] = []
        for id in ids {
            let s = sketchRow[id]! * sketches.dimensions, i = row[id]! * images.dimensions
            sketchVectors += sketches.vectors[s..<(s + sketches.dimensions)]
            imageVectors += images.vectors[i..<(i + images.dimensions)]
        }
        let labels = ids.map { records[$0]?.className ?? "" }
        return Archive(
            ids: ids, labels: labels, paths: ids.map { records[$0]?.path ?? "" },
            sketchIndex: adapter == nil
                ? SketchIndex(ids: ids, vectors: sketchVectors, dimensions: sketches.dimensions, centred: centred)
                : nil,
            regionIndex: adapter.map {
                SketchRegionIndex(
                    ids: ids, vectors: sketchVectors, windows: RegionGrid.standard.count,
                    dimensions: $0.header.sharedDimensions)
            },
            imageIndex: FlatIndex(dimensions: images.dimensions, metric: .cosine, ids: ids, vectors: imageVectors),
            imageVectors: imageVectors,
            classSizes: labels.reduce(into: [:]) { $0[$1, default: 0] += 1 }, modelID: binding.modelID)
    }

    /// Sketch embeddings of the archive images computed with this evaluator's embedder (for ablations
    /// whose descriptor differs from the stored one).
    func recomputed(_ ids: [Int64]) throws -> (ids: [Int64], vectors: [Float], dimensions: Int) {
        let records = try catalog.records(ids: ids)
        var vectors: [Float] = []
        vectors.reserveCapacity(ids.count * embedder.dimensions)
        for start in stride(from: 0, to: ids.count, by: 32) {
            let paths = ids[start..<min(ids.count, start + 32)].map { records[$0]?.path ?? "" }
            let images = try paths.map {
                try ImageDecoder.decode(URL(fileURLWithPath: $0), maxSide: Indexer.decodeMaxSide)
            }
            vectors += embedder.embed(images: images)
        }
        return (ids, vectors, embedder.dimensions)
    }

    /// One query to run: where its drawing comes from, its class and the archive item to leave out.
    struct Query {
        let label: String
        let excluded: Int64?
        let make: @Sendable () throws -> BinaryMask
    }

    /// Synthetic-sketch evaluation over every indexed image.
    public func evaluateSynthetic(progress: (ProgressSnapshot) -> Void = { _ in }) throws -> SketchEvaluation {
        let archive = try loadArchive()
        var synthesizer = SketchSynthesizer(canvas: embedder.normalizer.canvas)
        synthesizer.detector = embedder.detector
        let edgeTraces = synthesizer, contours = ContourSketchSynthesizer(canvas: embedder.normalizer.canvas)
        let embedder = self.embedder, seed = self.seed, style = generator
        let queries = zip(archive.ids, zip(archive.labels, archive.paths)).map { id, item in
            let (label, path) = item
            let key = "\(label)/\(URL(fileURLWithPath: path).lastPathComponent)"
            return Query(label: label, excluded: id) {
                let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
                let drawingSeed = SplitMix64.seed(seed, key: key)
                let drawing =
                    style == .contours
                    ? contours.synthesize(from: image, seed: drawingSeed)
                    : edgeTraces.synthesize(from: image, seed: drawingSeed)
                return try embedder.rendering(ofSketch: drawing)
            }
        }
        return try run(queries, archive: archive, source: "synthetic", progress: progress)
    }

    /// Evaluation with a folder of real sketches named by class.
    public func evaluateSketches(
        in folder: String, progress: (ProgressSnapshot) -> Void = { _ in }
    ) throws -> SketchEvaluation {
        let archive = try loadArchive()
        let classes = Set(archive.labels)
        let files = try DatasetScanner.scan(folder)
        let root = URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent
        let embedder = self.embedder
        var queries: [Query] = [], skipped: [String] = []
        for file in files {
            let url = URL(fileURLWithPath: file.path)
            let label =
                classes.contains(file.className) && file.className != root
                ? file.className
                : Self.classFromFileName(url.deletingPathExtension().lastPathComponent, classes: classes)
            guard let label else {
                skipped.append("\(file.path): no archive class matches its folder or file name")
                continue
            }
            queries.append(
                Query(label: label, excluded: nil) {
                    try embedder.rendering(ofSketch: ImageDecoder.decode(url, maxSide: Indexer.decodeMaxSide))
                })
        }
        guard !queries.isEmpty else {
            throw SearchError.invalidInput(
                "\(folder): no sketch files named after an archive class (\(classes.sorted().joined(separator: ", ")))")
        }
        return try run(queries, archive: archive, source: folder, skipped: skipped, progress: progress)
    }

    /// The archive class a sketch file name starts with (case and non-alphanumerics ignored; longest wins).
    static func classFromFileName(_ stem: String, classes: Set<String>) -> String? {
        func key(_ s: String) -> String { String(s.lowercased().filter { $0.isLetter || $0.isNumber }) }
        let name = key(stem)
        return classes.filter { !key($0).isEmpty && name.hasPrefix(key($0)) }.max { key($0).count < key($1).count }
    }

    func run(
        _ queries: [Query], archive: Archive, source: String, skipped initiallySkipped: [String] = [],
        progress: (ProgressSnapshot) -> Void
    ) throws -> SketchEvaluation {
        let start = Date()
        var skipped = initiallySkipped
        var empty = 0
        var sketchAP: [String: [Double]] = [:], sketchP: [String: [Double]] = [:]
        var randomAP: [String: [Double]] = [:], randomP: [String: [Double]] = [:]
        var chance: [Double] = []
        let position = Dictionary(uniqueKeysWithValues: archive.ids.enumerated().map { ($1, $0) })
        let copies = rotations.transforms.count
        var done = 0
        progress(ProgressSnapshot(done: 0, total: queries.count, skipped: 0, failed: 0, elapsed: 0))
        for batchStart in stride(from: 0, to: queries.count, by: batchSize) {
            let batch = Array(queries[batchStart..<min(queries.count, batchStart + batchSize)])
            var made = [Result<BinaryMask, Error>?](repeating: nil, count: batch.count)
            made.withUnsafeMutableBufferPointer { buffer in
                let box = UncheckedSendableBox(buffer)
                parallelChunks(batch.count, threads: defaultThreadCount) { range in
                    for i in range { box.value[i] = Result { try batch[i].make() } }
                }
            }
            var renderings: [BinaryMask] = [], owners: [Int] = []
            for (i, result) in made.enumerated() {
                switch result! {
                case .success(let mask):
                    renderings += rotations.transforms.map {
                        mask.transformed(quarterTurns: $0.quarterTurns, mirrored: $0.mirrored)
                    }
                    owners.append(i)
                case .failure(let error as SketchError):
                    if case .empty = error { empty += 1 } else { throw error }
                    record(batch[i], ranked: [], archive: archive, into: &sketchAP, &sketchP)
                case .failure(let error):
                    skipped.append("\(error)")
                    continue
                }
            }
            var vectors = embedder.embed(renderings: renderings)
            if let adapter { vectors = adapter.mapSketches(vectors, count: renderings.count) }
            let width = (adapter?.header.sharedDimensions ?? embedder.dimensions) * copies
            for (row, i) in owners.enumerated() {
                let query = batch[i]
                let variants = Array(vectors[(row * width)..<((row + 1) * width)])
                let excluded: Set<Int64> = query.excluded.map { [$0] } ?? []
                let ranked =
                    archive.regionIndex?.search(variants: variants, k: k, excluding: excluded).map(\.id)
                    ?? archive.sketchIndex!.search(variants: variants, k: k, excluding: excluded).map(\.id)
                record(
                    query, ranked: ranked.map { archive.labels[position[$0]!] }, archive: archive, into: &sketchAP,
                    &sketchP)
            }
            for i in batch.indices where !skippedResult(made[i]!) {
                // Random baseline: a seeded shuffle of the query's archive.
                var random = SplitMix64(seed: SplitMix64.seed(seed, key: "random/\(batchStart + i)"))
                let pool = archive.ids.indices.filter { archive.ids[$0] != batch[i].excluded }
                let ranked = pool.shuffled(using: &random).prefix(k).map { archive.labels[$0] }
                record(batch[i], ranked: ranked, archive: archive, into: &randomAP, &randomP)
                chance.append(Double(relevantCount(batch[i], archive)) / Double(max(1, pool.count)))
            }
            done += batch.count
            progress(
                ProgressSnapshot(
                    done: done, total: queries.count, skipped: 0, failed: skipped.count,
                    elapsed: Date().timeIntervalSince(start)))
        }
        let (imageAP, imageP) = imageLeaveOneOut(archive)
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        func score(_ ap: [String: [Double]], _ p: [String: [Double]], _ name: String? = nil) -> SketchEvaluation.Score {
            name.map { .init(meanAveragePrecision: mean(ap[$0] ?? []), precision: mean(p[$0] ?? [])) }
                ?? .init(
                    // Sorted: a fixed summation order.
                    meanAveragePrecision: mean(ap.keys.sorted().flatMap { ap[$0]! }),
                    precision: mean(p.keys.sorted().flatMap { p[$0]! }))
        }
        let perClass = sketchAP.keys.sorted().map { name in
            SketchEvaluation.ClassScore(
                className: name, queries: sketchAP[name]!.count, sketch: score(sketchAP, sketchP, name),
                image: score(imageAP, imageP, name), random: score(randomAP, randomP, name))
        }
        let queried = Set(sketchAP.keys)
        return SketchEvaluation(
            source: source, generator: source == "synthetic" ? generator : nil, adapterID: adapter?.header.id,
            seed: seed, k: k, modelID: archive.modelID, rotations: rotations,
            levels: embedder.spec.levels.map(\.description), centred: centred,
            queries: sketchAP.values.reduce(0) { $0 + $1.count }, classes: queried.count,
            archiveSize: archive.ids.count,
            sketch: score(sketchAP, sketchP),
            image: score(imageAP.filter { queried.contains($0.key) }, imageP.filter { queried.contains($0.key) }),
            random: score(randomAP, randomP), chanceLevel: mean(chance), emptyQueries: empty, skipped: skipped,
            perClass: perClass, seconds: Date().timeIntervalSince(start))
    }

    private func skippedResult(_ result: Result<BinaryMask, Error>) -> Bool {
        if case .failure(let error) = result, !(error is SketchError) { return true }
        return false
    }

    private func relevantCount(_ query: Query, _ archive: Archive) -> Int {
        archive.classSizes[query.label, default: 0] - (query.excluded == nil ? 0 : 1)
    }

    private func record(
        _ query: Query, ranked labels: [String], archive: Archive,
        into ap: inout [String: [Double]], _ p: inout [String: [Double]]
    ) {
        let relevant = labels.map { $0 == query.label }
        ap[query.label, default: []].append(
            RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: relevantCount(query, archive)))
        p[query.label, default: []].append(RetrievalMetrics.precision(relevant, k: k))
    }

    /// Image→image leave-one-out over the archive (the stored backbone embeddings), per class.
    private func imageLeaveOneOut(_ archive: Archive) -> ([String: [Double]], [String: [Double]]) {
        let hits = archive.imageIndex.search(batch: archive.imageVectors, k: k, excluding: archive.ids.map { [$0] })
        let position = Dictionary(uniqueKeysWithValues: archive.ids.enumerated().map { ($1, $0) })
        var ap: [String: [Double]] = [:], p: [String: [Double]] = [:]
        for (q, ranked) in hits.enumerated() {
            let query = Query(label: archive.labels[q], excluded: archive.ids[q]) { BinaryMask(width: 1, height: 1) }
            record(query, ranked: ranked.map { archive.labels[position[$0.id]!] }, archive: archive, into: &ap, &p)
        }
        return (ap, p)
    }
}
