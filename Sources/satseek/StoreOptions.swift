import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekPostgres
import SatSeekSearch
import SatSeekStore

/// `--store URL` for `index` and the query commands: the PostgreSQL + pgvector store beside the SQLite catalog.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL + pgvector store on this machine: postgres://USER@127.0.0.1:PORT/DB[?schema=NAME] "
                + "(loopback hosts only; scripts/postgres-cluster.sh start DIR starts one). `index` copies the catalog's "
                + "items and embeddings there after indexing, as one writer among any number (rows this catalog stored "
                + "and no longer has are deleted; other catalogs' rows are kept); `search` and "
                + "`export` rank in it (HNSW index, or exact with --exact) instead of the catalog's index files.",
            valueName: "URL"))
    var store: String?

    @Flag(
        name: .long,
        help:
            "Exact search: scan every vector instead of the HNSW graph (the catalog's -hnsw.ssidx file, or pgvector's index with --store)."
    )
    var exact = false

    @Option(
        name: .customLong("ef-search"),
        help: "With --store: HNSW search beam (hnsw.ef_search, 1…1000; raised to -k when smaller).")
    var efSearch: Int = 100

    @Option(
        name: .customLong("store-index"),
        help: ArgumentHelp(
            "With --store, when its schema is new: the HNSW index — full (vector), half (halfvec: half the size) or binary (1 bit a dimension, centred; candidates re-ranked exactly). Later runs use the schema's.",
            valueName: "kind"))
    var storeIndex: VectorIndexKind?

    @Option(
        name: .customLong("store-shard"),
        help: ArgumentHelp(
            "With --store, when its schema is new: a worker server (loopback URL, repeat for each) to partition the items over; --store is then the coordinator (postgres_fdw; scripts/postgres-cluster.sh start-sharded DIR starts one).",
            valueName: "URL"))
    var storeShards: [String] = []

    @Option(
        name: .customLong("store-batch"),
        help: ArgumentHelp(
            "With --store on `index`: rows per transaction when copying into the store (1…100000); a crash loses at most one.",
            valueName: "rows"))
    var storeBatch: Int = 5000

    @Option(
        name: .customLong("store-rerank-depth"),
        help: "With --store and a binary index: Hamming-nearest candidates re-ranked by cosine (1…1000).")
    var rerankDepth: Int = 200

    @Option(
        name: .customLong("store-build-memory"),
        help: ArgumentHelp(
            "With --store: maintenance_work_mem of the HNSW build in MB (64…65536); a graph larger than this builds far more slowly.",
            valueName: "MB"))
    var buildMemory: Int = 512

    /// Refuses a malformed or non-loopback URL before any work is done.
    func validate() throws {
        guard let store else { return }
        do {
            _ = try PostgresLocation(url: store)
        } catch let error as PostgresStoreError {
            throw ValidationError(error.description)
        }
        guard (1...1000).contains(efSearch) else { throw ValidationError("--ef-search must be 1…1000") }
        guard (1...1000).contains(rerankDepth) else { throw ValidationError("--store-rerank-depth must be 1…1000") }
        guard (64...65536).contains(buildMemory) else { throw ValidationError("--store-build-memory must be 64…65536") }
        guard (1...100_000).contains(storeBatch) else { throw ValidationError("--store-batch must be 1…100000") }
        for shard in storeShards {
            do {
                _ = try PostgresLocation(url: shard)
            } catch let error as PostgresStoreError {
                throw ValidationError("--store-shard: \(error.description)")
            }
        }
    }

    private var storeOptions: PostgresStoreOptions {
        var options = PostgresStoreOptions()
        options.efSearch = efSearch
        options.vectorIndex = storeIndex
        options.rerankDepth = rerankDepth
        options.shards = storeShards
        options.indexBuildMemoryMB = buildMemory
        return options
    }

    /// The PostgreSQL store named by `--store`, or nil for the catalog's embedded store. Close it with
    /// ``close(_:)``.
    func open(for catalog: Catalog) async throws -> PostgresStore? {
        guard let url = store else { return nil }
        return try await PostgresStore.open(url: url, for: catalog, options: storeOptions)
    }

    /// The archive a query command searches: the catalog and model of `session`, ranked by `--store` or the
    /// catalog's own index files; `body` runs with it and the store is closed afterwards.
    func withArchive<T>(_ session: SearchSession, _ body: (Archive) async throws -> T) async throws -> T {
        let postgres = try await open(for: session.catalog)
        do {
            let result = try await body(try Archive(session: session, store: postgres, exact: exact))
            await postgres?.close()
            return result
        } catch {
            await postgres?.close()
            throw error
        }
    }

    /// Copies the catalog's rows and bound-model embeddings into the store and reports the counts
    /// (on stderr when `json` keeps stdout for the index report).
    func sync(catalog: Catalog, json: Bool) async throws {
        guard let store = try await open(for: catalog) else { return }
        do {
            // Shown from the sync's own task only, between its chunks.
            nonisolated(unsafe) let progress = ProgressPrinter(unit: "rows")
            let started = Date()
            let report = try await store.sync(from: catalog, chunkSize: storeBatch) { done, total in
                progress.show(
                    ProgressSnapshot(
                        done: done, total: total, skipped: 0, failed: 0, elapsed: Date().timeIntervalSince(started)))
            }
            progress.finish()
            await store.close()
            let shards = store.isSharded ? ", \(store.options.shards.count) shards" : ""
            let place =
                "\(store.location) (table \(store.itemsTable)\(shards), model \(store.modelID), writer \(store.writer ?? 0))"
            let line = String(
                format:
                    "synced %@ into %@\n  %d added, %d changed, %d unchanged, %d removed; %d in the store  (%.1f s)",
                catalog.path, place, report.added, report.changed, report.upserted - report.added - report.changed,
                report.removed, report.total, report.seconds)
            if json { printError(line) } else { print(line) }
        } catch {
            await store.close()
            throw error
        }
    }
}
