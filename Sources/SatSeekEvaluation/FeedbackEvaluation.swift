import SatSeekSearch
import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekLearning

/// Simulated relevance feedback on a labelled dataset (`satseek eval-feedback`).
///
/// Protocol: queries are drawn with the seed (or all items). Round 0 ranks the archive by the single query
/// image. In each round the simulated analyst inspects the top `perRound` items of the current ranking that
/// are not labelled yet and labels each +1 when it has the query's class, else −1; the learner re-ranks the
/// whole archive from the query (a positive) and every label so far. After every round: AP over the full
/// ranking (every item but the query, labelled ones included where the learner puts them; relevant = same
/// class; normalised by the number of relevant items) and R-precision, averaged over the queries.
public struct FeedbackEvaluation: Sendable, Codable {
    public struct Row: Sendable, Codable, Equatable {
        /// `single-image`, `random`, or a learner's name.
        public let method: String
        public let round: Int
        public let meanAveragePrecision: Double
        public let rPrecision: Double
        /// Mean milliseconds to fit the learner and rank the archive once (rounds ≥ 1).
        public let millisecondsPerRanking: Double
    }
    public let queries: Int
    public let items: Int
    public let classes: Int
    public let rounds: Int
    public let perRound: Int
    public let seed: UInt64
    public let centred: Bool
    public let modelID: String
    public let rows: [Row]
}

public enum FeedbackEvaluator {
    /// Runs the protocol on the catalog's embeddings (labels = class names) for each learner.
    public static func run(
        catalog: Catalog, rounds: Int, perRound: Int, queries: Int?, seed: UInt64,
        learners: [FeedbackLearner], centre: Bool = true,
        settings: RelevanceFeedback.Settings = .init()
    ) throws -> FeedbackEvaluation {
        guard rounds >= 0, perRound > 0 else {
            throw SearchError.invalidInput("--rounds must be ≥ 0 and --per-round positive")
        }
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): nothing indexed")
        }
        let stored = try catalog.embeddings()
        let records = try catalog.records(ids: stored.ids)
        let labels = stored.ids.map { records[$0]?.className ?? "" }
        let n = stored.ids.count
        guard n > 1 else { throw SearchError.invalidInput("\(catalog.path): at least two items are needed") }
        let d = stored.dimensions
        let index = FlatIndex(dimensions: d, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
        let row = Dictionary(uniqueKeysWithValues: stored.ids.enumerated().map { ($1, $0) })
        let vectors = (0..<n).map { Array(stored.vectors[($0 * d)..<(($0 + 1) * d)]) }
        let statistics = centre ? ArchiveStatistics(vectors: stored.vectors, dimensions: d) : nil
        let classSize = labels.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }

        var random = RandomSource(seed: seed)
        var order = Array(0..<n)
        random.shuffle(&order)
        let queryRows = queries.map { Array(order.prefix(min($0, n))) } ?? Array(0..<n)

        /// AP over the full ranking and R-precision of `ranked` (rows, query excluded) for query row `q`.
        /// (AP over the whole ranking is AP@K with K the ranking's length; R-precision is P@R.)
        func score(_ ranked: [Int], query q: Int) -> (ap: Double, rp: Double) {
            let relevantCount = classSize[labels[q]]! - 1
            guard relevantCount > 0 else { return (0, 0) }
            let relevant = ranked.map { labels[$0] == labels[q] }
            return (
                RetrievalMetrics.averagePrecision(relevant, k: relevant.count, relevantInArchive: relevantCount),
                RetrievalMetrics.precision(relevant, k: relevantCount)
            )
        }
        func rank(_ direction: [Float], query q: Int) -> [Int] {
            index.search(direction, k: n, excluding: [stored.ids[q]]).map { row[$0.id]! }
        }

        var rows: [FeedbackEvaluation.Row] = []
        func add(_ method: String, _ round: Int, _ scores: [(ap: Double, rp: Double)], _ ms: Double) {
            let count = Double(max(scores.count, 1))
            rows.append(
                .init(
                    method: method, round: round, meanAveragePrecision: scores.map(\.ap).reduce(0, +) / count,
                    rPrecision: scores.map(\.rp).reduce(0, +) / count, millisecondsPerRanking: ms))
        }
        // Baselines: the single image's ranking and a random one.
        var singleScores: [(ap: Double, rp: Double)] = []
        var randomScores: [(ap: Double, rp: Double)] = []
        var shuffler = RandomSource(seed: seed &+ 1)
        for q in queryRows {
            let ranked = rank(vectors[q], query: q)
            singleScores.append(score(ranked, query: q))
            var shuffled = (0..<n).filter { $0 != q }
            shuffler.shuffle(&shuffled)
            randomScores.append(score(shuffled, query: q))
        }
        add("random", 0, randomScores, 0)
        add("single-image", 0, singleScores, 0)

        for learner in learners {
            var perRoundScores = Array(repeating: [(ap: Double, rp: Double)](), count: rounds + 1)
            var seconds = 0.0, fits = 0
            for q in queryRows {
                // Round 0: the learner's ranking from the query alone (centred when centring is on).
                let alone = RelevanceFeedback.fit(
                    positives: [vectors[q]], negatives: [], learner: learner,
                    statistics: statistics, settings: settings)
                var ranking = rank(alone.direction, query: q)
                var labelled: [Int: Bool] = [:]
                var backgroundSource = RandomSource(seed: seed &+ UInt64(q) &* 7919)
                perRoundScores[0].append(score(ranking, query: q))
                guard rounds > 0 else { continue }
                for round in 1...rounds {
                    for r in ranking.lazy.filter({ labelled[$0] == nil }).prefix(perRound) {
                        labelled[r] = labels[r] == labels[q]
                    }
                    let started = Date()
                    let positives = [vectors[q]] + labelled.filter { $0.value }.keys.sorted().map { vectors[$0] }
                    let negatives = labelled.filter { !$0.value }.keys.sorted().map { vectors[$0] }
                    let background = backgroundSample(
                        count: n, size: settings.backgroundSize, avoiding: Set(labelled.keys).union([q]),
                        random: &backgroundSource
                    ).map { vectors[$0] }
                    let model = RelevanceFeedback.fit(
                        positives: positives, negatives: negatives, learner: learner,
                        statistics: statistics, background: background, settings: settings)
                    ranking = rank(model.direction, query: q)
                    seconds += Date().timeIntervalSince(started)
                    fits += 1
                    perRoundScores[round].append(score(ranking, query: q))
                }
            }
            let ms = fits > 0 ? seconds * 1000 / Double(fits) : 0
            for round in 0...rounds { add(learner.rawValue, round, perRoundScores[round], round == 0 ? 0 : ms) }
        }
        return FeedbackEvaluation(
            queries: queryRows.count, items: n, classes: classSize.count, rounds: rounds,
            perRound: perRound, seed: seed, centred: centre, modelID: binding.modelID, rows: rows)
    }

    /// Up to `size` distinct rows of `0..<count`, none in `avoiding`, drawn from `random` (the simulated
    /// analyst's unlabelled weak negatives).
    static func backgroundSample(count: Int, size: Int, avoiding: Set<Int>, random: inout RandomSource) -> [Int] {
        var rows = (0..<count).filter { !avoiding.contains($0) }
        random.shuffle(&rows)
        return Array(rows.prefix(size))
    }
}
