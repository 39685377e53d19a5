import SatSeekSearch
import SatSeekCatalog
import SatSeekIndex

/// Leave-one-out evaluation of a labelled class-folder dataset: every indexed image queries all the others.
public struct Evaluation: Sendable, Codable {
    public struct ClassScore: Sendable, Codable {
        public let className: String
        public let queries: Int
        public let meanAveragePrecision: Double
        public let precision: Double
    }
    public let k: Int
    public let queries: Int
    public let classes: Int
    public let modelID: String
    public let meanAveragePrecision: Double
    public let precision: Double
    /// mAP@K a random ranking would get on average ≈ fraction of relevant items (reported for context).
    public let chanceLevel: Double
    public let perClass: [ClassScore]
}

public enum Evaluator {
    /// Evaluates the catalog's embeddings with labels = class folder names.
    public static func leaveOneOut(catalog: Catalog, k: Int) throws -> Evaluation {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): nothing indexed")
        }
        let stored = try catalog.embeddings()
        let records = try catalog.records(ids: stored.ids)
        let labels = stored.ids.map { records[$0]?.className ?? "" }
        let classSizes = labels.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        let index = FlatIndex(dimensions: stored.dimensions, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
        let position = Dictionary(uniqueKeysWithValues: stored.ids.enumerated().map { ($1, $0) })
        let hits = index.search(batch: stored.vectors, k: k + 1, excluding: stored.ids.map { [$0] })

        var apByClass: [String: [Double]] = [:]
        var pByClass: [String: [Double]] = [:]
        for (q, ranked) in hits.enumerated() {
            let label = labels[q]
            let relevant = ranked.prefix(k).map { labels[position[$0.id]!] == label }
            apByClass[label, default: []].append(
                RetrievalMetrics.averagePrecision(relevant, k: k, relevantInArchive: classSizes[label]! - 1))
            pByClass[label, default: []].append(RetrievalMetrics.precision(relevant, k: k))
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        let perClass = apByClass.keys.sorted().map { name in
            Evaluation.ClassScore(
                className: name, queries: apByClass[name]!.count,
                meanAveragePrecision: mean(apByClass[name]!), precision: mean(pByClass[name]!))
        }
        let n = labels.count
        let chance = n > 1 ? labels.map { Double(classSizes[$0]! - 1) / Double(n - 1) }.reduce(0, +) / Double(n) : 0
        return Evaluation(
            k: k, queries: n, classes: classSizes.count, modelID: binding.modelID,
            // Sorted classes: a fixed summation order, so repeated runs agree to the last bit.
            meanAveragePrecision: mean(apByClass.keys.sorted().flatMap { apByClass[$0]! }),
            precision: mean(pByClass.keys.sorted().flatMap { pByClass[$0]! }),
            chanceLevel: chance, perClass: perClass)
    }
}
