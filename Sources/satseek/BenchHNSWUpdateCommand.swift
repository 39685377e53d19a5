import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekRandom

/// `satseek bench hnsw-update`: adding a few percent to an HNSW graph by editing it, against rebuilding it.
struct BenchHNSWUpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hnsw-update",
        abstract: "Time adding vectors to an HNSW graph in place against a full rebuild, and compare their recall.",
        discussion: """
            Builds a graph on the first (100 − P) % of the vectors, then brings it to all of them two ways: editing it
            (HNSWIndex.synchronize, what `satseek index` does to a saved graph) and building a new graph on everything.
            Recall@10 of both against exact search, on held-out queries.
              satseek bench hnsw-update --vectors 200000 --dimensions 64 --add-percent 1
              satseek bench hnsw-update --db big.satseek --add-percent 1      # a catalog's real embeddings
            """)

    @Option(help: "Synthetic vectors (clustered, seeded) when no --db is given.") var vectors = 100_000
    @Option(help: "Dimensions of the synthetic vectors.") var dimensions = 64
    @Option(help: "Use this catalog's embeddings instead of synthetic vectors.") var db: String?
    @Option(help: "Percentage of the vectors added to the existing graph.") var addPercent = 1.0
    @Option(help: "HNSW links per node.") var m = 16
    @Option(help: "HNSW beam width while building.") var efConstruction = 200
    @Option(help: "Held-out queries for recall@10.") var queries = 200
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Output: Codable {
        var vectors: Int
        var dimensions: Int
        var added: Int
        var baseBuildSeconds: Double
        var updateSeconds: Double
        var rebuildSeconds: Double
        var updateRecallAt10: Double
        var rebuildRecallAt10: Double
    }

    func validate() throws {
        guard addPercent > 0, addPercent < 100 else { throw ValidationError("--add-percent must be in (0, 100)") }
        guard vectors >= 100, dimensions >= 1, queries >= 1 else {
            throw ValidationError("--vectors ≥ 100, --dimensions ≥ 1, --queries ≥ 1")
        }
    }

    func run() throws {
        let (ids, rows, dims, queryRows) = try data()
        let n = ids.count
        let baseCount = n - max(1, Int(Double(n) * addPercent / 100))
        let parameters = HNSWIndex.Parameters(M: m, efConstruction: efConstruction, efSearch: 64)
        printError("hnsw-update: \(n) × \(dims) vectors; graph on \(baseCount), then \(n - baseCount) added…")
        var clock = Date()
        var edited = HNSWIndex(
            dimensions: dims, parameters: parameters, ids: Array(ids.prefix(baseCount)),
            vectors: Array(rows.prefix(baseCount * dims)))
        let baseSeconds = Date().timeIntervalSince(clock)
        clock = Date()
        let report = edited.synchronize(ids: ids, vectors: rows)
        let updateSeconds = Date().timeIntervalSince(clock)
        printError(
            String(
                format: "  edit: %.2f s (%d added, rebuilt: %@)", updateSeconds, report.added,
                report.rebuilt ? "yes" : "no"))
        clock = Date()
        let rebuilt = HNSWIndex(dimensions: dims, parameters: parameters, ids: ids, vectors: rows)
        let rebuildSeconds = Date().timeIntervalSince(clock)
        printError(String(format: "  rebuild: %.2f s", rebuildSeconds))

        let exact = FlatIndex(dimensions: dims, metric: .cosine, ids: ids, vectors: rows)
        var recallEdited = 0.0, recallRebuilt = 0.0
        let queryCount = queryRows.count / dims
        for q in 0..<queryCount {
            let query = Array(queryRows[(q * dims)..<((q + 1) * dims)])
            let truth = Set(exact.search(query, k: 10).map(\.id))
            recallEdited += Double(edited.search(query, k: 10).filter { truth.contains($0.id) }.count) / 10
            recallRebuilt += Double(rebuilt.search(query, k: 10).filter { truth.contains($0.id) }.count) / 10
        }
        let output = Output(
            vectors: n, dimensions: dims, added: n - baseCount, baseBuildSeconds: baseSeconds,
            updateSeconds: updateSeconds, rebuildSeconds: rebuildSeconds,
            updateRecallAt10: recallEdited / Double(queryCount), rebuildRecallAt10: recallRebuilt / Double(queryCount))
        if json {
            try printJSON(output)
        } else {
            print(
                String(
                    format: "%d vectors × %d, %d added (%.1f %%): edit %.2f s, full rebuild %.2f s (%.0f× faster); "
                        + "recall@10 edit %.3f, rebuild %.3f (%d queries, efSearch 64, M %d, efConstruction %d)",
                    n, dims, n - baseCount, addPercent, updateSeconds, rebuildSeconds,
                    rebuildSeconds / max(updateSeconds, 1e-9), output.updateRecallAt10, output.rebuildRecallAt10,
                    queryCount, m, efConstruction))
        }
    }

    /// Database ids and rows, and held-out query rows (the catalog's last rows, or extra synthetic ones).
    private func data() throws -> (ids: [Int64], rows: [Float], dimensions: Int, queries: [Float]) {
        if let db {
            let stored = try Catalog(path: db, create: false).embeddings()
            let d = stored.dimensions, held = min(queries, stored.ids.count / 10)
            let n = stored.ids.count - held
            guard n >= 100 else { throw ValidationError("\(db) holds too few embeddings (\(stored.ids.count))") }
            return (
                Array(stored.ids.prefix(n)), Array(stored.vectors.prefix(n * d)), d,
                Array(stored.vectors.suffix(held * d))
            )
        }
        var generator = SplitMix64(seed: 20_261_206)
        func uniform() -> Float { generator.signedUnitFloat() }
        let clusters = 100, total = vectors + queries
        let centres = (0..<(clusters * dimensions)).map { _ in uniform() }
        var rows = [Float](repeating: 0, count: total * dimensions)
        for r in 0..<total {
            let c = Int((uniform() + 1) / 2 * Float(clusters)) % clusters
            for d in 0..<dimensions {
                rows[r * dimensions + d] = centres[c * dimensions + d] + 0.5 * (uniform() + uniform() + uniform()) / 3
            }
        }
        return (
            (0..<vectors).map(Int64.init), Array(rows.prefix(vectors * dimensions)), dimensions,
            Array(rows.suffix(queries * dimensions))
        )
    }
}
