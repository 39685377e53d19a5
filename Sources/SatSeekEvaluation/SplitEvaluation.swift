import SatSeekSearch
import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekLearning

/// A stratified split of a labelled dataset into a training part (the archive in the MiLaN protocol) and a
/// test part (the queries).
public struct DatasetSplit: Sendable, Equatable {
    /// Positions (rows of ``LabelledFeatures``) of the training part, ascending.
    public let train: [Int]
    /// Positions of the test part, ascending.
    public let test: [Int]
    /// Hash of the sorted training names: equal fingerprints mean the same training images.
    public let trainFingerprint: String

    /// Within every class (names sorted), a seeded shuffle puts `round(fraction · n)` images into training,
    /// at least one in each part when the class has two or more. Classes are visited in sorted order, so the
    /// split depends only on the names, the fraction and the seed.
    public static func stratified(
        classNames: [String], names: [String], fraction: Double, seed: UInt64
    ) throws -> DatasetSplit {
        guard fraction > 0, fraction < 1 else {
            throw SearchError.invalidInput("the split fraction must be between 0 and 1 (got \(fraction))")
        }
        var byClass: [String: [Int]] = [:]
        for (i, name) in classNames.enumerated() { byClass[name, default: []].append(i) }
        var random = RandomSource(seed: seed)
        var train: [Int] = [], test: [Int] = []
        for name in byClass.keys.sorted() {
            var members = byClass[name]!.sorted { names[$0] < names[$1] }
            random.shuffle(&members)
            let n = members.count
            let count = n < 2 ? n : min(n - 1, max(1, Int((fraction * Double(n)).rounded())))
            train += members[..<count]
            test += members[count...]
        }
        train.sort()
        test.sort()
        return DatasetSplit(train: train, test: test, trainFingerprint: fingerprint(train.map { names[$0] }.sorted()))
    }
}

/// One row of a split evaluation.
public struct SplitScore: Sendable, Codable {
    /// `raw features`, `head float`, `head codes`.
    public let representation: String
    /// The head's id, if any.
    public let head: String?
    /// Vector length, or code length in bits.
    public let dimensions: Int
    /// Bytes stored per archive image.
    public let bytesPerImage: Int
    /// mAP@K over the queries.
    public let meanAveragePrecision: Double
    /// P@K over the queries.
    public let precision: Double
    /// Mean time of one exhaustive search over the archive (single query, after embedding).
    public let searchMicroseconds: Double
    /// Mean time to apply the head to one backbone embedding (0 for raw features).
    public let encodeMicroseconds: Double
}

/// The MiLaN protocol: the test part queries the training part (the archive).
public struct SplitEvaluation: Sendable, Codable {
    /// The dataset folder.
    public let dataset: String
    /// Backbone model id.
    public let modelID: String
    /// Cut-off rank K.
    public let k: Int
    /// Fraction of every class in the training part (archive).
    public let splitFraction: Double
    /// Seed of the split.
    public let seed: UInt64
    /// Number of queries (test part).
    public let queries: Int
    /// Archive size (training part).
    public let archive: Int
    /// Number of classes.
    public let classes: Int
    /// Expected mAP of a random ranking ≈ mean fraction of relevant archive items.
    public let chanceLevel: Double
    /// One row per representation.
    public var rows: [SplitScore]
    /// E.g. a head trained on a different split (its test images may have been in training).
    public var warnings: [String]
}

/// mAP@K / P@K of rankings under the split protocol (uses ``RetrievalMetrics``).
public enum SplitEvaluator {
    /// Mean AP@K and P@K, where `ranked[q]` lists archive positions (into `archiveLabels`) best first.
    public static func score(
        ranked: [[Int]], queryLabels: [Int], archiveLabels: [Int], k: Int
    ) -> (map: Double, precision: Double) {
        let sizes = archiveLabels.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        var ap = 0.0, p = 0.0
        for (q, list) in ranked.enumerated() {
            let relevant = list.prefix(k).map { archiveLabels[$0] == queryLabels[q] }
            ap += RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: sizes[queryLabels[q]] ?? 0)
            p += RetrievalMetrics.precision(relevant, k: k)
        }
        let n = Double(max(1, ranked.count))
        return (ap / n, p / n)
    }

    /// Cosine ranking of `queries` against `archive` (both row-major, `dimensions` wide).
    public static func cosineRanking(queries: [Float], archive: [Float], dimensions: Int, k: Int) -> [[Int]] {
        let index = FlatIndex(
            dimensions: dimensions, metric: .cosine,
            ids: (0..<(archive.count / dimensions)).map(Int64.init), vectors: archive)
        return index.search(batch: queries, k: k).map { $0.map { Int($0.id) } }
    }

    /// Hamming ranking of the signs of `queries` against the signs of `archive` (`bits` wide).
    public static func hammingRanking(queries: [Float], archive: [Float], bits: Int, k: Int) -> [[Int]] {
        let index = HammingIndex(ids: (0..<(archive.count / bits)).map(Int64.init), activations: archive, bits: bits)
        return index.search(batch: queries, k: k).map { $0.map { Int($0.id) } }
    }

    /// Loads the dataset's embeddings from the catalog (index it first), splits it and evaluates.
    public static func run(
        catalog: Catalog, folder: String, k: Int, fraction: Double, seed: UInt64,
        heads: [TrainedHead]
    ) throws -> SplitEvaluation {
        let features = try LabelledFeatures.load(catalog: catalog, folder: folder)
        let split = try DatasetSplit.stratified(
            classNames: features.classNames, names: features.names,
            fraction: fraction, seed: seed)
        return try evaluate(
            features: features, split: split, k: k, heads: heads, dataset: folder,
            fraction: fraction, seed: seed)
    }

    /// Runs the protocol for the raw features and each head (float embedding and, for code heads, codes).
    public static func evaluate(
        features: LabelledFeatures, split: DatasetSplit, k: Int, heads: [TrainedHead],
        dataset: String, fraction: Double, seed: UInt64
    ) throws -> SplitEvaluation {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        guard !split.train.isEmpty, !split.test.isEmpty else {
            throw SearchError.invalidInput(
                "\(dataset): the split leaves an empty part (\(split.train.count) train, \(split.test.count) test)")
        }
        let labels = features.labels
        let queryLabels = split.test.map { labels[$0] }
        let archiveLabels = split.train.map { labels[$0] }
        let queries = features.rows(split.test), archive = features.rows(split.train)
        var rows: [SplitScore] = []
        var warnings: [String] = []

        let raw = cosineRanking(queries: queries, archive: archive, dimensions: features.dimensions, k: k)
        let rawScore = score(ranked: raw, queryLabels: queryLabels, archiveLabels: archiveLabels, k: k)
        rows.append(
            SplitScore(
                representation: "raw features", head: nil, dimensions: features.dimensions,
                bytesPerImage: 4 * features.dimensions, meanAveragePrecision: rawScore.map,
                precision: rawScore.precision,
                searchMicroseconds: timeCosine(queries, archive, features.dimensions, k),
                encodeMicroseconds: 0))
        for trained in heads {
            try trained.requireBackbone(features.modelID, path: "head \(trained.header.id)")
            if let provenance = trained.header.provenance, provenance.trainFingerprint != split.trainFingerprint {
                warnings.append(
                    "head \(trained.header.id) was trained on a different split (seed \(provenance.splitSeed), "
                        + "fraction \(provenance.splitFraction)): some test images may have been seen in training")
            }
            let bits = trained.bits
            let q = trained.head.embed(queries, count: split.test.count)
            let a = trained.head.embed(archive, count: split.train.count)
            let encode = timeEncode(trained.head, queries, features.dimensions)
            let floatScore = score(
                ranked: cosineRanking(queries: q, archive: a, dimensions: bits, k: k),
                queryLabels: queryLabels, archiveLabels: archiveLabels, k: k)
            rows.append(
                SplitScore(
                    representation: "head float", head: trained.header.id, dimensions: bits,
                    bytesPerImage: 4 * bits, meanAveragePrecision: floatScore.map,
                    precision: floatScore.precision, searchMicroseconds: timeCosine(q, a, bits, k),
                    encodeMicroseconds: encode))
            if trained.header.architecture.output == .codes {
                let codeScore = score(
                    ranked: hammingRanking(queries: q, archive: a, bits: bits, k: k),
                    queryLabels: queryLabels, archiveLabels: archiveLabels, k: k)
                rows.append(
                    SplitScore(
                        representation: "head codes", head: trained.header.id, dimensions: bits,
                        bytesPerImage: 8 * ((bits + 63) / 64), meanAveragePrecision: codeScore.map,
                        precision: codeScore.precision, searchMicroseconds: timeHamming(q, a, bits, k),
                        encodeMicroseconds: encode))
            }
        }
        let sizes = archiveLabels.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        let chance =
            queryLabels.map { Double(sizes[$0] ?? 0) / Double(archiveLabels.count) }.reduce(0, +)
            / Double(queryLabels.count)
        return SplitEvaluation(
            dataset: dataset, modelID: features.modelID, k: k, splitFraction: fraction, seed: seed,
            queries: split.test.count, archive: split.train.count, classes: Set(labels).count,
            chanceLevel: chance, rows: rows, warnings: warnings)
    }

    // MARK: - Timing (single queries, one after another, as a user would issue them)

    /// Mean microseconds of `body` per query: rounds of `calls` single queries (cycling through the query
    /// rows), up to five rounds or about three seconds; the fastest round counts (the least disturbed by other
    /// processes on the machine).
    static func time(queries count: Int, calls: Int = 500, _ body: (Int) -> Void) -> Double {
        guard count > 0 else { return 0 }
        body(0)  // warm-up
        var best = Double.infinity
        let begin = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<calls { body(i % count) }
            let end = DispatchTime.now().uptimeNanoseconds
            best = min(best, Double(end - start) / 1000 / Double(calls))
            if end - begin > 3_000_000_000 { break }
        }
        return best
    }

    static func timeCosine(_ queries: [Float], _ archive: [Float], _ dimensions: Int, _ k: Int) -> Double {
        let index = FlatIndex(
            dimensions: dimensions, metric: .cosine,
            ids: (0..<(archive.count / dimensions)).map(Int64.init), vectors: archive)
        let rows = (0..<(queries.count / dimensions)).map {
            Array(queries[($0 * dimensions)..<(($0 + 1) * dimensions)])
        }
        return time(queries: rows.count) { _ = index.search(rows[$0], k: k) }
    }

    static func timeHamming(_ queries: [Float], _ archive: [Float], _ bits: Int, _ k: Int) -> Double {
        let index = HammingIndex(ids: (0..<(archive.count / bits)).map(Int64.init), activations: archive, bits: bits)
        let codes = BinaryCodes(signsOf: queries, bits: bits)
        return time(queries: codes.count) { _ = index.search(code: codes.code($0), k: k) }
    }

    static func timeEncode(_ head: MLPHead, _ queries: [Float], _ dimensions: Int) -> Double {
        let count = min(200, queries.count / dimensions)
        let rows = (0..<count).map { Array(queries[($0 * dimensions)..<(($0 + 1) * dimensions)]) }
        return time(queries: count, calls: 200) { _ = head.embed(rows[$0], count: 1) }
    }
}
