import Foundation
import Testing
import SatSeekTestSupport
import SatSeekCatalog
import SatSeekIndex
@testable import SatSeekPostgres
import SatSeekStore
import SatSeekRandom

/// End-to-end checks of the PostgreSQL store against the embedded catalog + FlatIndex, on a throw-away cluster.
@Suite(.serialized) struct PostgresStoreTests {
    static let modelID = "test-pixels-grid8"
    static let dimensions = 192

    /// A catalog filled through ``EmbeddedStore`` with real-image vectors (aid-mini, 8×8 RGB grids) and
    /// clustered synthetic ones; synthetic items get footprint boxes on a 1° grid.
    static func makeEmbedded(
        in folder: URL
    ) async throws -> (store: EmbeddedStore, vectors: [Int64: [Float]], boxes: [Int64: GeoBox]) {
        let catalog = try Catalog(path: folder.appendingPathComponent("test.satseek").path, create: true)
        let store = try EmbeddedStore(catalog: catalog, binding: ModelBinding(modelID: modelID, dimensions: dimensions))
        var items: [StoreItem] = []
        for real in pixelVectors(perClass: 10) {
            items.append(StoreItem(id: 0, path: real.path, className: real.className, vector: real.vector))
        }
        let synthetic = clusteredVectors(clusters: 40, perCluster: 60, dimensions: dimensions, seed: 7)
        for (i, vector) in synthetic.enumerated() {
            let lon = Double(i % 50) - 25, lat = Double(i / 50 % 40) - 20
            items.append(
                StoreItem(
                    id: 0, path: "/synthetic/c\(i / 60)/v\(i).jpg", className: "c\(i / 60)",
                    footprint: GeoBox(minLon: lon, minLat: lat, maxLon: lon + 0.9, maxLat: lat + 0.9),
                    vector: vector))
        }
        let ids = try await store.upsert(items: items)
        var vectors: [Int64: [Float]] = [:]
        var boxes: [Int64: GeoBox] = [:]
        for (id, item) in zip(ids, items) {
            vectors[id] = item.vector
            boxes[id] = item.footprint
        }
        return (store, vectors, boxes)
    }

    /// `true` when two rankings agree, allowing swaps of neighbours whose scores differ by less than `tolerance`.
    static func sameUpToTies(_ a: [SearchHit], _ b: [SearchHit], tolerance: Float = 1e-5) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x.id != y.id {
            if abs(x.score - y.score) > tolerance { return false }
        }
        return true
    }

    @Test func postgresMatchesTheEmbeddedStore() async throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "satseek-pgtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        try await TestCluster.with("parity") { url in
            let (embedded, vectors, boxes) = try await Self.makeEmbedded(in: folder)
            let realCount = vectors.count - 2400
            #expect(realCount >= 200, "expected aid-mini images in \(sharedData.path)")

            var options = PostgresStoreOptions()
            options.batchSize = 400
            let store = try await PostgresStore.open(url: url, for: embedded.catalog, options: options)
            let report = try await store.sync(from: embedded.catalog)
            #expect(report.upserted == vectors.count && report.removed == 0 && report.total == vectors.count)
            // A second sync rewrites rows in place.
            let again = try await store.sync(from: embedded.catalog)
            #expect(again.total == vectors.count)

            // Queries: real images (the embedded store excludes nothing, so each finds itself first) and
            // perturbed synthetic vectors.
            let ids = vectors.keys.sorted()
            var rng = SplitMix64(seed: 11)
            var queries: [[Float]] = (0..<15).map { vectors[ids[$0 * max(1, realCount / 15)]]! }
            for _ in 0..<25 {
                let base = vectors[ids[Int.random(in: realCount..<ids.count, using: &rng)]]!
                queries.append(base.map { $0 + 0.2 * rng.normal() })
            }

            var identical = 0, equalUpToTies = 0
            var recallSum = 0.0
            for query in queries {
                let flat = try await embedded.search(vector: query, k: 10, exact: true)
                let exact = try await store.search(vector: query, k: 10, exact: true)
                if flat.map(\.id) == exact.map(\.id) { identical += 1 }
                if Self.sameUpToTies(flat, exact) { equalUpToTies += 1 }
                for (f, e) in zip(flat, exact) where f.id == e.id { #expect(abs(f.score - e.score) < 1e-4) }
                let approximate = try await store.search(vector: query, k: 10, exact: false)
                recallSum += Double(Set(approximate.map(\.id)).intersection(exact.map(\.id)).count) / 10
            }
            let recall = recallSum / Double(queries.count)
            print(
                "PostgreSQL exact vs FlatIndex top-10: \(identical)/\(queries.count) identical, "
                    + "\(equalUpToTies)/\(queries.count) equal up to ties; HNSW recall@10 \(recall)")
            #expect(equalUpToTies == queries.count)
            #expect(recall >= 0.9)

            // The HNSW index is used in approximate mode and not in exact mode.
            let plan = try await store.explainSearch(vector: queries[0], k: 10, exact: false)
            #expect(plan.contains(store.vectorIndexName), "approximate search should use the HNSW index:\n\(plan)")
            let exactPlan = try await store.explainSearch(vector: queries[0], k: 10, exact: true)
            #expect(
                !exactPlan.contains(store.vectorIndexName), "exact search must not use the HNSW index:\n\(exactPlan)")

            // Allowed ids: same answer as FlatIndex restricted to the set; HNSW only returns allowed ids.
            let allowed = Set(ids.shuffled(using: &rng).prefix(300))
            for query in queries.prefix(10) {
                let flat = try await embedded.search(
                    vector: query, k: 10, exact: true, filter: SearchFilter(allowed: allowed))
                let exact = try await store.search(
                    vector: query, k: 10, exact: true, filter: SearchFilter(allowed: allowed))
                #expect(Self.sameUpToTies(flat, exact))
                let approximate = try await store.search(
                    vector: query, k: 10, exact: false, filter: SearchFilter(allowed: allowed))
                #expect(approximate.count == 10 && approximate.allSatisfy { allowed.contains($0.id) })
            }
            #expect(
                try await store.search(vector: queries[0], k: 10, exact: true, filter: SearchFilter(allowed: []))
                    .isEmpty)

            // Bounding box: only intersecting footprints, same answer as the catalog's chip boxes.
            let box = GeoBox(minLon: -5.5, minLat: -3.5, maxLon: 4.2, maxLat: 6.1)
            for query in queries.suffix(10) {
                let flat = try await embedded.search(
                    vector: query, k: 10, exact: true, filter: SearchFilter(boundingBox: box))
                let exact = try await store.search(
                    vector: query, k: 10, exact: true, filter: SearchFilter(boundingBox: box))
                #expect(exact.count == 10 && exact.allSatisfy { boxes[$0.id]?.intersects(box) == true })
                #expect(Self.sameUpToTies(flat, exact))
                let approximate = try await store.search(
                    vector: query, k: 10, exact: false, filter: SearchFilter(boundingBox: box))
                #expect(approximate.allSatisfy { boxes[$0.id]?.intersects(box) == true })
            }

            // A half-precision HNSW index (another schema): same exact answers, recall still ≥ 0.9.
            var halfOptions = PostgresStoreOptions()
            halfOptions.halfPrecisionIndex = true
            let half = try await PostgresStore.open(
                url: url + "?schema=half", for: embedded.catalog, options: halfOptions)
            try await half.sync(from: embedded.catalog)
            // Exact answers of another index kind equal the first store's; its mean recall@10 against them.
            func recallAgainstExact(_ other: PostgresStore) async throws -> Double {
                var recall = 0.0
                for query in queries {
                    let exact = try await store.search(vector: query, k: 10, exact: true)
                    #expect(try await other.search(vector: query, k: 10, exact: true).map(\.id) == exact.map(\.id))
                    let approximate = try await other.search(vector: query, k: 10, exact: false)
                    recall += Double(Set(approximate.map(\.id)).intersection(exact.map(\.id)).count) / 10
                }
                return recall / Double(queries.count)
            }
            let halfRecall = try await recallAgainstExact(half)
            print("halfvec HNSW recall@10 \(halfRecall)")
            #expect(halfRecall >= 0.9)
            #expect(
                try await half.explainSearch(vector: queries[0], k: 10, exact: false).contains(half.vectorIndexName))
            await half.close()

            // A binary-quantised HNSW index (1 bit a dimension, centred on the mean): Hamming-nearest candidates
            // re-ranked exactly. Exact answers unchanged; recall@10 ≥ 0.9; the plan walks the index; a later open
            // that names no index adopts the schema's, and one that names another is refused.
            var binaryOptions = PostgresStoreOptions()
            binaryOptions.vectorIndex = .binary
            binaryOptions.rerankDepth = 100
            let binary = try await PostgresStore.open(
                url: url + "?schema=quantised", for: embedded.catalog, options: binaryOptions)
            try await binary.sync(from: embedded.catalog)
            let binaryRecall = try await recallAgainstExact(binary)
            print("binary-quantised HNSW + re-rank of 100: recall@10 \(binaryRecall)")
            #expect(binaryRecall >= 0.9)
            let binaryPlan = try await binary.explainSearch(vector: queries[0], k: 10, exact: false)
            #expect(binaryPlan.contains(binary.vectorIndexName), "\(binaryPlan)")
            let filtered = try await binary.search(
                vector: queries[0], k: 10, exact: false, filter: SearchFilter(allowed: allowed))
            #expect(filtered.count == 10 && filtered.allSatisfy { allowed.contains($0.id) })
            await binary.close()
            let adopted = try await PostgresStore.open(url: url + "?schema=quantised", for: embedded.catalog)
            #expect(adopted.indexKind == .binary)
            await adopted.close()
            await #expect {
                try await PostgresStore.open(
                    url: url + "?schema=quantised", for: embedded.catalog, options: halfOptions)
            } throws: { "\($0)".contains("indexed as binary") }

            // Removing from the catalog and syncing deletes the rows.
            try embedded.catalog.remove(ids: Array(ids.suffix(5)))
            let pruned = try await store.sync(from: embedded.catalog)
            #expect(pruned.removed == 5 && pruned.total == vectors.count - 5)
            await store.close()
        }
    }

    @Test func refusesAnotherModelAndStoresBinaryCodes() async throws {
        try await TestCluster.with("models") { url in
            var options = PostgresStoreOptions()
            options.codeBits = 64
            let store = try await PostgresStore.open(url: url, modelID: "model-a", dimensions: 64, options: options)
            let vectors = clusteredVectors(clusters: 8, perCluster: 40, dimensions: 64, seed: 3)
            let codes: [[UInt8]] = vectors.map { v in
                (0..<8).map { byte in (0..<8).reduce(UInt8(0)) { $0 | (v[byte * 8 + $1] > 0 ? 0x80 >> UInt8($1) : 0) } }
            }
            let items = vectors.indices.map {
                StoreItem(
                    id: Int64($0 + 1), path: "/v/\($0)", className: "c\($0 / 40)", vector: vectors[$0], code: codes[$0])
            }
            try await store.upsert(items: items)
            #expect(try await store.count() == items.count)

            // Hamming search equals a brute-force scan (ties by smaller id), exact and through the index.
            func hamming(_ a: [UInt8], _ b: [UInt8]) -> Int {
                zip(a, b).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
            }
            for q in [0, 57, 133, 250] {
                let expected = items.map { (id: $0.id, distance: hamming($0.code!, codes[q])) }
                    .sorted { ($0.distance, $0.id) < ($1.distance, $1.id) }.prefix(10)
                let exact = try await store.searchCodes(codes[q], k: 10)
                #expect(exact.map(\.id) == expected.map(\.id) && exact.map(\.distance) == expected.map(\.distance))
                let approximate = try await store.searchCodes(codes[q], k: 10, exact: false)
                #expect(approximate.count == 10 && approximate.first?.distance == 0)
            }
            await store.close()

            // Same schema, another model or length: refused, naming both models.
            for (model, dims) in [("model-b", 64), ("model-a", 128)] {
                do {
                    let other = try await PostgresStore.open(url: url, modelID: model, dimensions: dims)
                    await other.close()
                    Issue.record("opened \(model)/\(dims) on a store of model-a/64")
                } catch let error as PostgresStoreError {
                    guard case .modelMismatch = error else { Issue.record("unexpected \(error)"); continue }
                    #expect(
                        error.description.contains("model-a") && error.description.contains(model)
                            && error.description.contains("satseek.satseek_items"))
                }
            }
            // Another schema holds another model; a wrong-length query is refused.
            let other = try await PostgresStore.open(url: url + "?schema=model_b", modelID: "model-b", dimensions: 32)
            try await other.upsert(items: [
                StoreItem(id: 1, path: "/b/1", className: "b", vector: Array(repeating: 1, count: 32))
            ])
            #expect(try await other.count() == 1)
            await #expect(throws: StoreError.self) { try await other.search(vector: [1, 2, 3], k: 1) }
            await other.close()

            // A port with no server: a clear connection error.
            let dead = url.replacingOccurrences(of: #":\d+/"#, with: ":1/", options: .regularExpression)
            await #expect(throws: PostgresStoreError.self) {
                try await PostgresStore.open(url: dead, modelID: "m", dimensions: 4)
            }
        }
    }

    @Test func refusesNonLoopbackServersBeforeConnecting() async throws {
        do {
            _ = try await PostgresStore.open(
                url: "postgres://satseek@203.0.113.7:5432/satseek", modelID: "m", dimensions: 4)
            Issue.record("a non-loopback URL was accepted")
        } catch let error as PostgresStoreError {
            #expect(error == .notLoopback(url: "postgres://satseek@203.0.113.7:5432/satseek", host: "203.0.113.7"))
            #expect(error.description.contains("only connects to a PostgreSQL server on this machine's loopback"))
        }
    }
}
