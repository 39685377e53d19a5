import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekIndex
import SatSeekPostgres
import SatSeekLearning
import SatSeekSearch
import SatSeekStore

/// `satseek bench store`: the PostgreSQL store's three HNSW indexes (full, half precision, binary + re-rank) on the
/// same vectors: load and build time, disk, exact and approximate latency, recall@10.
struct BenchStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract:
            "Time the PostgreSQL store's HNSW indexes (vector, halfvec, binary + re-rank) and measure their recall.",
        discussion: """
            Vectors: a catalog's real embeddings (--db) plus --synthetic more made from them (a random real embedding, Gaussian noise of --noise per dimension, normalised), so the set keeps the real embeddings' mean and spread, which decides how much a binary code keeps. Each index kind is loaded into its own schema (bench_full, bench_half, bench_bq; dropped first and afterwards), the HNSW index built after loading. Queries are perturbed real embeddings; recall@10 is against the exact top-10 of the same store.

              scripts/postgres-cluster.sh start /tmp/pg
              satseek bench store --store postgres://postgres@127.0.0.1:PORT/satseek --db big.satseek --synthetic 100000
            """)

    @Option(help: "PostgreSQL URL (loopback only).") var store: String
    @Option(help: "Catalog whose embeddings seed the set.") var db: String
    @Option(help: "Synthetic vectors added around the real ones.") var synthetic = 20_000
    @Option(help: "Standard deviation of the per-dimension noise of synthetic vectors.") var noise: Float = 0.01
    @Option(help: "Queries timed and scored.") var queries = 100
    @Option(help: "Re-rank depth of the binary index.") var rerankDepth = 200
    @Option(help: "hnsw.ef_search of approximate queries.") var efSearch = 100
    @Option(help: "Index kinds to measure; repeat for several (full, half, binary).") var kind: [VectorIndexKind] = [
        .full, .half, .binary
    ]
    @Option(help: "Seed of the synthetic vectors and queries.") var seed: UInt64 = 5
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Codable {
        var kind: String
        var vectors: Int
        var dimensions: Int
        var loadSeconds: Double
        var indexSeconds: Double
        var tableBytes: Int64
        var indexBytes: Int64
        var exactMilliseconds: Double
        var approximateMilliseconds: Double
        var recallAt10: Double
    }

    func validate() throws {
        guard synthetic >= 0, queries >= 1, noise >= 0, noise.isFinite else {
            throw ValidationError("--synthetic ≥ 0, --queries ≥ 1, --noise ≥ 0")
        }
        guard (1...1000).contains(rerankDepth), (1...1000).contains(efSearch) else {
            throw ValidationError("--rerank-depth and --ef-search must be 1…1000")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let catalog = try Catalog(path: db, create: false)
            guard let binding = try catalog.binding() else { throw ValidationError("\(db) holds no embeddings") }
            let real = try catalog.embeddings()
            let d = real.dimensions, n = real.ids.count
            guard n >= 10 else { throw ValidationError("\(db) holds too few embeddings (\(n))") }
            var random = RandomSource(seed: seed)
            func around(_ row: Int, sigma: Float) -> [Float] {
                var v = (0..<d).map { real.vectors[row * d + $0] + sigma * random.nextGaussian() }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 0 { v = v.map { $0 / norm } }
                return v
            }
            var items: [StoreItem] = (0..<n).map {
                StoreItem(
                    id: Int64($0 + 1), path: "real/\($0)", className: "real",
                    vector: Array(real.vectors[($0 * d)..<(($0 + 1) * d)]))
            }
            for i in 0..<synthetic {
                let row = random.nextInt(below: n)
                items.append(
                    StoreItem(
                        id: Int64(n + i + 1), path: "synthetic/\(i)", className: "synthetic",
                        vector: around(row, sigma: noise)))
            }
            let queryVectors = (0..<queries).map { _ in around(random.nextInt(below: n), sigma: noise) }
            var rows: [Row] = []
            for kind in kind {
                var options = PostgresStoreOptions()
                options.vectorIndex = kind
                options.rerankDepth = rerankDepth
                options.efSearch = efSearch
                options.batchSize = max(1, min(5000, 4_000_000 / (d * 12)))
                let url =
                    store + (store.contains("?") ? "&" : "?") + "schema=bench_\(kind == .binary ? "bq" : kind.rawValue)"
                let old = try await PostgresStore.open(
                    url: url, modelID: binding.modelID, dimensions: d, options: options)
                try await old.dropSchema()
                await old.close()
                let postgres = try await PostgresStore.open(
                    url: url, modelID: binding.modelID, dimensions: d, options: options)
                let progress = ProgressPrinter()
                if !json { printError("\(kind.rawValue): loading \(items.count) vectors into \(postgres.itemsTable)…") }
                var started = Date()
                var loaded = 0
                for chunk in stride(from: 0, to: items.count, by: 5000) {
                    let part = Array(items[chunk..<min(items.count, chunk + 5000)])
                    try await postgres.upsert(items: part, buildIndex: false)
                    loaded += part.count
                    if !json {
                        progress.show(
                            ProgressSnapshot(
                                done: loaded, total: items.count, skipped: 0, failed: 0,
                                elapsed: Date().timeIntervalSince(started)))
                    }
                }
                if !json { progress.finish() }
                let loadSeconds = Date().timeIntervalSince(started)
                started = Date()
                try await postgres.ensureIndex()
                let indexSeconds = Date().timeIntervalSince(started)
                var exactTime = 0.0, approximateTime = 0.0, recall = 0.0
                for query in queryVectors {
                    started = Date()
                    let exact = try await postgres.search(vector: query, k: 10, exact: true)
                    exactTime += Date().timeIntervalSince(started)
                    started = Date()
                    let approximate = try await postgres.search(vector: query, k: 10, exact: false)
                    approximateTime += Date().timeIntervalSince(started)
                    recall += Double(Set(exact.map(\.id)).intersection(approximate.map(\.id)).count) / 10
                }
                let sizes = try await postgres.sizes()
                try await postgres.dropSchema()
                await postgres.close()
                let q = Double(queryVectors.count)
                rows.append(
                    Row(
                        kind: kind.rawValue, vectors: items.count, dimensions: d, loadSeconds: loadSeconds,
                        indexSeconds: indexSeconds, tableBytes: sizes.table, indexBytes: sizes.vectorIndex,
                        exactMilliseconds: 1000 * exactTime / q, approximateMilliseconds: 1000 * approximateTime / q,
                        recallAt10: recall / q))
            }
            if json { return try printJSON(rows) }
            print("index   vectors   dims  load s   index s  table MB  index MB  exact ms  approx ms  recall@10")
            for row in rows {
                print(
                    row.kind.padded(8)
                        + String(
                            format: "%-9d %-5d %-8.1f %-8.1f %-9.1f %-9.1f %-9.2f %-10.2f %.3f", row.vectors,
                            row.dimensions, row.loadSeconds, row.indexSeconds, Double(row.tableBytes) / 1e6,
                            Double(row.indexBytes) / 1e6, row.exactMilliseconds, row.approximateMilliseconds,
                            row.recallAt10))
            }
        }
    }
}

extension VectorIndexKind: ExpressibleByArgument {}
