import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekPostgres
import SatSeekSearch

/// `--store URL` for `index` and `search`: the PostgreSQL + pgvector store beside the SQLite catalog.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "PostgreSQL + pgvector store on this machine: postgres://USER@127.0.0.1:PORT/DB[?schema=NAME] "
            + "(loopback hosts only; scripts/postgres-cluster.sh start DIR starts one). `index` copies the catalog's "
            + "items and embeddings there after indexing (rows the catalog no longer has are deleted); `search` "
            + "answers --image / --item queries from it (HNSW index, or exact with --exact).",
        valueName: "URL"))
    var store: String?

    @Flag(name: .long, help: "Exact search: scan every vector instead of the HNSW graph (the catalog's -hnsw.ssidx file, or pgvector's index with --store).")
    var exact = false

    @Option(name: .customLong("ef-search"), help: "With --store: HNSW search beam (hnsw.ef_search, 1…1000; raised to -k when smaller).")
    var efSearch: Int = 100

    /// Refuses a malformed or non-loopback URL before any work is done.
    func validate() throws {
        guard let store else { return }
        do {
            _ = try PostgresLocation(url: store)
        } catch let error as PostgresStoreError {
            throw ValidationError(error.description)
        }
        guard (1...1000).contains(efSearch) else { throw ValidationError("--ef-search must be 1…1000") }
    }

    private var storeOptions: PostgresStoreOptions {
        var options = PostgresStoreOptions()
        options.efSearch = efSearch
        return options
    }

    /// Copies the catalog's rows and bound-model embeddings into the store and reports the counts
    /// (on stderr when `json` keeps stdout for the index report).
    func sync(catalog: Catalog, json: Bool) throws {
        guard let url = store else { return }
        let options = storeOptions
        let (report, place) = try runBlocking {
            let store = try await PostgresStore.open(url: url, for: catalog, options: options)
            do {
                let report = try await store.sync(from: catalog)
                await store.close()
                return (report, "\(store.location) (table \(store.itemsTable), model \(store.modelID))")
            } catch {
                await store.close()
                throw error
            }
        }
        let line = String(format: "synced %@ into %@\n  %d written, %d removed, %d in the store  (%.1f s)",
                          catalog.path, place, report.upserted, report.removed, report.total, report.seconds)
        if json { printError(line) } else { print(line) }
    }

    /// Answers an image or item query from the store and prints the results like `search` does.
    func search(session: SearchSession, image: String?, item: Int64?, k: Int, json: Bool) throws {
        guard let url = store else { return }
        guard image != nil || item != nil else {
            throw ValidationError("--store answers --image FILE or --item ID queries")
        }
        let query: [Float]? = try image.map { path in
            session.model.embed(images: [try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)])
        }
        let (catalog, exact, options) = (session.catalog, exact, storeOptions)
        let results = try runBlocking { () async throws -> [SearchResult] in
            let store = try await PostgresStore.open(url: url, for: catalog, options: options)
            do {
                var vector = query ?? []
                if let item {
                    guard let stored = try await store.embedding(id: item) else {
                        throw ValidationError("\(store.location): no item with id \(item) in \(store.itemsTable) "
                                              + "(\(try await store.count()) items; run `satseek index --store` to sync)")
                    }
                    vector = stored
                }
                let hits = try await store.search(vector: vector, k: item == nil ? k : k + 1, exact: exact)
                    .filter { $0.id != item }.prefix(k)
                let rows = try await store.items(ids: hits.map(\.id))
                await store.close()
                return hits.enumerated().compactMap { rank, hit in
                    rows[hit.id].map { SearchResult(rank: rank + 1, id: hit.id, path: $0.path, className: $0.className,
                                                         score: hit.score) }
                }
            } catch {
                await store.close()
                throw error
            }
        }
        try printResults(results, json: json)
    }
}
