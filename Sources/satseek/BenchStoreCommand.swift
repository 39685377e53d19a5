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
            Vectors: a catalog's real embeddings (--db) plus --synthetic more made from them (a random real embedding, Gaussian noise of --noise per dimension, normalised), so the set keeps the real embeddings' mean and spread, which decides how much a binary code keeps. Each index kind is loaded into its own schema (bench_full, bench_half, bench_bq, and bench_full_sharded … over the --shard workers; dropped first and afterwards), the HNSW index built after loading (on all shards at once). Queries are perturbed real embeddings; recall@10 is against the exact top-10 of the same store.

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
    @Option(help: "Concurrent writers loading the vectors (each its own connections).") var writers = 1
    @Option(
        name: .customLong("shard"),
        help: "Also measure the store laid out over these worker servers (repeat; --store is the coordinator).")
    var shards: [String] = []
    @Flag(help: "With --shard: measure only the sharded layout, not the one server --store is as well.")
    var shardedOnly = false
    @Option(help: "maintenance_work_mem of the HNSW builds, in MB (64…65536).") var buildMemory = 512
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Codable {
        var kind: String
        var writers: Int
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
        guard (1...16).contains(writers) else { throw ValidationError("--writers must be 1…16") }
        guard (64...65536).contains(buildMemory) else { throw ValidationError("--build-memory must be 64…65536") }
        guard !shardedOnly || !shards.isEmpty else { throw ValidationError("--sharded-only needs --shard") }
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
            // Generated a chunk at a time (a million 1 280-dimensional vectors are 5 GB), each chunk from its own
            // seed, so that any writer can make any chunk and every run loads the same vectors.
            let total = n + synthetic
            let chunkSize = 5000
            @Sendable func chunk(_ c: Int) -> [StoreItem] {
                var random = RandomSource(seed: seed &+ 1_000_003 &* UInt64(c + 1))
                return (c * chunkSize..<min(total, (c + 1) * chunkSize)).map { i in
                    if i < n {
                        return StoreItem(
                            id: Int64(i + 1), path: "real/\(i)", className: "real",
                            vector: Array(real.vectors[(i * d)..<((i + 1) * d)]))
                    }
                    let row = random.nextInt(below: n)
                    var v = (0..<d).map { real.vectors[row * d + $0] + noise * random.nextGaussian() }
                    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 0 { v = v.map { $0 / norm } }
                    return StoreItem(id: Int64(i + 1), path: "synthetic/\(i)", className: "synthetic", vector: v)
                }
            }
            let chunks = (total + chunkSize - 1) / chunkSize
            let queryVectors = (0..<queries).map { _ in around(random.nextInt(below: n), sigma: noise) }
            var rows: [Row] = []
            let layouts =
                (shardedOnly ? [] : kind.map { ($0, [String]()) }) + (shards.isEmpty ? [] : kind.map { ($0, shards) })
            for (kind, shards) in layouts {
                let label = shards.isEmpty ? kind.rawValue : "\(kind.rawValue)×\(shards.count)"
                var options = PostgresStoreOptions()
                options.shards = shards
                options.vectorIndex = kind
                options.rerankDepth = rerankDepth
                options.efSearch = efSearch
                options.indexBuildMemoryMB = buildMemory
                options.batchSize = max(1, min(5000, 4_000_000 / (d * 12)))
                let schema = (kind == .binary ? "bq" : kind.rawValue) + (shards.isEmpty ? "" : "_sharded")
                let url = store + (store.contains("?") ? "&" : "?") + "schema=bench_\(schema)"
                let old = try await PostgresStore.open(
                    url: url, modelID: binding.modelID, dimensions: d, options: options)
                try await old.dropSchema()
                await old.close()
                let postgres = try await PostgresStore.open(
                    url: url, modelID: binding.modelID, dimensions: d, options: options)
                let progress = ProgressPrinter(unit: "vec")
                if !json {
                    printError(
                        "\(label): loading \(total) vectors into \(postgres.itemsTable) with \(writers) writer(s)…")
                }
                let loadStarted = Date()
                let loaded = LoadCounter()
                // Shown by one task only, while this one waits.
                nonisolated(unsafe) let shownBy = progress
                let writerOptions = postgres.options
                let model = binding.modelID
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<writers {
                        group.addTask {
                            let writer = try await PostgresStore.open(
                                url: url, modelID: model, dimensions: d, options: writerOptions)
                            do {
                                for c in stride(from: w, to: chunks, by: writers) {
                                    let part = chunk(c)
                                    try await writer.upsert(items: part, buildIndex: false)
                                    loaded.add(part.count)
                                }
                            } catch {
                                await writer.close()
                                throw error
                            }
                            await writer.close()
                        }
                    }
                    if !json {
                        group.addTask {
                            while loaded.value < total {
                                try await Task.sleep(nanoseconds: 500_000_000)
                                shownBy.show(
                                    ProgressSnapshot(
                                        done: loaded.value, total: total, skipped: 0, failed: 0,
                                        elapsed: Date().timeIntervalSince(loadStarted)))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                if !json { progress.finish() }
                let loadSeconds = Date().timeIntervalSince(loadStarted)
                var started = Date()
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
                        kind: label, writers: writers, vectors: total, dimensions: d, loadSeconds: loadSeconds,
                        indexSeconds: indexSeconds, tableBytes: sizes.table, indexBytes: sizes.vectorIndex,
                        exactMilliseconds: 1000 * exactTime / q, approximateMilliseconds: 1000 * approximateTime / q,
                        recallAt10: recall / q))
            }
            if json { return try printJSON(rows) }
            print(
                "index    writers vectors   dims  load s   index s  table MB  index MB  exact ms  approx ms  recall@10")
            for row in rows {
                print(
                    row.kind.padded(9) + String(row.writers).padded(8)
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

/// Rows loaded so far, counted by every writer.
private final class LoadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) { lock.withLock { count += n } }
}
