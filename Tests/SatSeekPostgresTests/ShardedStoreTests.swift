import Foundation
import Testing
import SatSeekTestSupport
import SatSeekCatalog
import SatSeekIndex
@testable import SatSeekPostgres
import SatSeekStore
import SatSeekRandom
import PostgresNIO

/// The store partitioned over two worker servers through a coordinator (postgres_fdw), against the embedded
/// catalog + FlatIndex.
@Suite(.serialized) struct ShardedStoreTests {
    @Test func coordinatorAndTwoWorkersRankLikeTheEmbeddedIndex() async throws {
        let folder = try temporaryFolder("sharded")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestCluster.withSharded("sharded") { coordinator, workers in
            let (embedded, vectors, boxes) = try await PostgresStoreTests.makeEmbedded(in: folder)
            var options = PostgresStoreOptions()
            options.shards = workers
            options.batchSize = 400
            let store = try await PostgresStore.open(url: coordinator, for: embedded.catalog, options: options)
            #expect(store.isSharded && store.options.shards.count == 2)
            let report = try await store.sync(from: embedded.catalog)
            #expect(report.added == vectors.count && report.total == vectors.count, "\(report)")
            let again = try await store.sync(from: embedded.catalog)
            #expect(again.added == 0 && again.changed == 0 && again.total == vectors.count, "\(again)")

            // Rows are spread over both workers by the hash of their path.
            var perShard: [Int64] = []
            for i in 0..<2 {
                perShard.append(
                    try await store.transaction("counting a shard") { conn in
                        try await store.scalar(conn, "SELECT count(*)::int8 FROM \(store.shardTable(i))")
                    })
            }
            #expect(perShard.reduce(0, +) == Int64(vectors.count) && perShard.allSatisfy { $0 > vectors.count / 4 })

            // 40 queries: exact top-10 equals the FlatIndex; each shard's HNSW index gives recall@10 ≥ 0.95.
            let ids = vectors.keys.sorted()
            var rng = SplitMix64(seed: 23)
            let queries: [[Float]] = (0..<40).map { _ in
                vectors[ids[Int.random(in: 0..<ids.count, using: &rng)]]!.map { $0 + 0.1 * rng.normal() }
            }
            var recallSum = 0.0
            for query in queries {
                let flat = try await embedded.search(vector: query, k: 10, exact: true)
                let exact = try await store.search(vector: query, k: 10, exact: true)
                #expect(PostgresStoreTests.sameUpToTies(flat, exact), "\(flat.map(\.id)) vs \(exact.map(\.id))")
                let approximate = try await store.search(vector: query, k: 10, exact: false)
                recallSum += Double(Set(approximate.map(\.id)).intersection(flat.map(\.id)).count) / 10
            }
            let recall = recallSum / Double(queries.count)
            print("sharded store (coordinator + 2 workers): HNSW recall@10 \(recall) over \(queries.count) queries")
            #expect(recall >= 0.95)

            // Each shard gets its own ORDER BY … LIMIT, exact or through its HNSW index.
            for exact in [false, true] {
                let plan = try await store.explainSearch(vector: queries[0], k: 10, exact: exact)
                let remote = plan.split(separator: "\n").filter { $0.contains("Remote SQL") }
                #expect(
                    remote.count == 2 && remote.allSatisfy { $0.contains("ORDER BY") && $0.contains("LIMIT 10") },
                    "\(plan)")
            }

            // Filters travel to the shards: excluded ids, a footprint box.
            let box = GeoBox(minLon: -5.5, minLat: -3.5, maxLon: 4.2, maxLat: 6.1)
            for query in queries.prefix(8) {
                let filter = SearchFilter(excluded: Set(ids.prefix(50)), boundingBox: box)
                let flat = try await embedded.search(vector: query, k: 10, exact: true, filter: filter)
                let exact = try await store.search(vector: query, k: 10, exact: true, filter: filter)
                #expect(PostgresStoreTests.sameUpToTies(flat, exact))
                #expect(exact.allSatisfy { boxes[$0.id]?.intersects(box) == true && !ids.prefix(50).contains($0.id) })
            }

            // Deletes reach the shards; the store remains one table to every reader.
            let gone = Array(ids.suffix(30))
            _ = try embedded.catalog.remove(ids: gone)
            let after = try await store.sync(from: embedded.catalog)
            #expect(after.removed == 30 && after.total == vectors.count - 30)
            #expect(try await store.vectors(ids: gone).isEmpty)

            // The layout is the schema's: a later open adopts it, naming other shards is refused.
            let reopened = try await PostgresStore.open(url: coordinator, for: embedded.catalog)
            #expect(reopened.isSharded)
            await reopened.close()
            var single = PostgresStoreOptions()
            single.shards = [workers[0]]
            await #expect(throws: PostgresStoreError.self) {
                try await PostgresStore.open(url: coordinator, for: embedded.catalog, options: single)
            }
            await store.close()
        }
    }

    /// The half-precision and binary HNSW kinds on shards: built on every worker after the load (the binary one
    /// around the mean over all shards), walked per shard, exact re-ranking on the coordinator.
    @Test func halfAndBinaryIndexesOnShards() async throws {
        let folder = try temporaryFolder("sharded-kinds")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestCluster.withSharded("sharded-kinds") { coordinator, workers in
            let (embedded, vectors, _) = try await PostgresStoreTests.makeEmbedded(in: folder)
            let ids = vectors.keys.sorted()
            var rng = SplitMix64(seed: 31)
            let queries: [[Float]] = (0..<30).map { _ in
                vectors[ids[Int.random(in: 0..<ids.count, using: &rng)]]!.map { $0 + 0.1 * rng.normal() }
            }
            for (kind, minimumRecall) in [(VectorIndexKind.half, 0.95), (.binary, 0.9)] {
                var options = PostgresStoreOptions()
                options.shards = workers
                options.vectorIndex = kind
                options.rerankDepth = 100
                let url = coordinator + "?schema=sharded_\(kind.rawValue)"
                let store = try await PostgresStore.open(url: url, for: embedded.catalog, options: options)
                #expect(store.isSharded && store.indexKind == kind)
                let report = try await store.sync(from: embedded.catalog)
                #expect(report.added == vectors.count, "\(report)")
                // Every worker holds the index, of this kind.
                for worker in workers {
                    try await store.onWorker(try PostgresLocation(url: worker)) { conn in
                        let rows = try await conn.query(
                            PostgresQuery(
                                unsafeSQL:
                                    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'sharded_\(kind.rawValue)' AND indexname = 'satseek_items_hnsw'"
                            ), logger: store.logger)
                        var definitions: [String] = []
                        for try await definition in rows.decode(String.self) { definitions.append(definition) }
                        let opclass = kind == .half ? "halfvec_cosine_ops" : "bit_hamming_ops"
                        #expect(definitions.count == 1 && definitions[0].contains(opclass), "\(definitions)")
                    }
                }
                var recallSum = 0.0
                for query in queries {
                    let flat = try await embedded.search(vector: query, k: 10, exact: true)
                    let exact = try await store.search(vector: query, k: 10, exact: true)
                    #expect(PostgresStoreTests.sameUpToTies(flat, exact))
                    let approximate = try await store.search(vector: query, k: 10, exact: false)
                    // Ranked by the exact score, whatever the index walked.
                    #expect(zip(approximate, approximate.dropFirst()).allSatisfy { $0.score >= $1.score })
                    recallSum += Double(Set(approximate.map(\.id)).intersection(flat.map(\.id)).count) / 10
                }
                let recall = recallSum / Double(queries.count)
                print("sharded store, \(kind.rawValue) index: recall@10 \(recall)")
                #expect(recall >= minimumRecall)
                let plan = try await store.explainSearch(vector: queries[0], k: 10, exact: false)
                let remote = plan.split(separator: "\n").filter { $0.contains("Remote SQL") }
                let walked = kind == .half ? "halfvec" : "<~>"
                let limit = kind == .half ? "LIMIT 10" : "LIMIT 50"  // re-rank depth 100 over 2 shards
                #expect(
                    remote.count == 2 && remote.allSatisfy { $0.contains(walked) && $0.contains(limit) }, "\(plan)")
                try await store.dropSchema()
                await store.close()
            }
        }
    }

    /// Two writers inserting the same new path: the one that finds the other's row only when inserting (the
    /// shard's unique index waits for the first, then refuses) writes its chunk again and wins, as the last writer.
    @Test func writersRacingOnOnePathBothFinish() async throws {
        let folder = try temporaryFolder("sharded-race")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestCluster.withSharded("sharded-race") { coordinator, workers in
            var options = PostgresStoreOptions()
            options.shards = workers
            let store = try await PostgresStore.open(url: coordinator, modelID: "race", dimensions: 4, options: options)
            let first = try await PostgresConnection.connect(
                configuration: PostgresStore.connectionConfiguration(try PostgresLocation(url: coordinator)), id: 9,
                logger: store.logger)
            _ = try await first.query("BEGIN", logger: store.logger)
            _ = try await first.query(
                """
                INSERT INTO satseek.satseek_items (id, path, class, embedding) VALUES (7, '/shared/a.tif', 'first', '[1,0,0,0]')
                """, logger: store.logger)
            let second = Task {
                try await store.write(
                    items: [StoreItem(id: 8, path: "/shared/a.tif", className: "second", vector: [0, 1, 0, 0])],
                    buildIndex: false)
            }
            // Commit the first only once the second waits on the shard's unique index.
            var waited = false
            for _ in 0..<200 where !waited {
                try await Task.sleep(nanoseconds: 50_000_000)
                for worker in workers {
                    try await store.onWorker(try PostgresLocation(url: worker)) { conn in
                        let rows = try await conn.query(
                            "SELECT count(*)::int8 FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                            logger: store.logger)
                        for try await n in rows.decode(Int64.self) where n > 0 { waited = true }
                    }
                }
            }
            #expect(waited, "the second writer never waited on the first")
            _ = try await first.query("COMMIT", logger: store.logger)
            try await first.close()
            let counts = try await second.value
            #expect(counts.added + counts.changed == 1)
            let stored = try await store.records(ids: [8])
            #expect(stored[8]?.className == "second" && stored[8]?.path == "/shared/a.tif")
            #expect(try await store.count() == 1)
            await store.close()
        }
    }
}
