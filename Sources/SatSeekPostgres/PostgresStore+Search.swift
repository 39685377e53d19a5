import Foundation
import PostgresNIO
import SatSeekIndex
import SatSeekStore

extension PostgresStore {
    /// The `k` items most similar to `vector` by cosine similarity (score = 1 − cosine distance) that pass
    /// `filter` (excluded ids, allowed ids, footprint box).
    ///
    /// - `exact: true` turns index scans off for the query (`SET LOCAL enable_indexscan = off`) and orders by
    ///   distance then id, so results equal a brute-force scan (ties by smaller id).
    /// - `exact: false` walks the HNSW index with `hnsw.ef_search` = max(``PostgresStoreOptions/efSearch``, k);
    ///   with filters, pgvector's iterative scan keeps looking until `k` matches are found.
    ///
    /// - Throws: `StoreError.invalidInput` for a query of the wrong length or with non-finite values.
    public func search(
        vector: [Float], k: Int, exact: Bool = false, filter: SearchFilter = .none
    ) async throws
        -> [SearchHit]
    {
        try validateQuery(vector)
        guard k > 0, filter.allowed?.isEmpty != true else { return [] }
        return try await transaction("searching") { conn in
            let query = try await self.searchQuery(vector: vector, k: k, exact: exact, filter: filter, conn: conn)
            for setting in query.settings { try await self.exec(conn, setting) }
            let rows = try await conn.query(query.query, logger: self.logger)
            var hits: [SearchHit] = []
            for try await (id, distance) in rows.decode((Int64, Double?).self) {
                hits.append(SearchHit(id: self.callerID(id), score: distance.map { Float(1 - $0) } ?? -.infinity))
            }
            // The half-precision index orders by rounded vectors; report in order of the full-precision score.
            if !exact, self.indexesHalfPrecision {
                hits.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            }
            return hits
        }
    }

    /// "Find all": every item scoring at least `minimumScore` that passes `filter`, one page of them best first
    /// (ties by smaller id) and their number — a `WHERE distance <= 1 − minimumScore` scan with `LIMIT/OFFSET`.
    public func search(
        vector: [Float], minimumScore: Float, filter: SearchFilter = .none, offset: Int = 0,
        limit: Int = .max
    ) async throws -> RangePage {
        try validateQuery(vector)
        try validatePage(offset: offset, limit: limit)
        guard filter.allowed?.isEmpty != true else { return RangePage(hits: [], total: 0) }
        var (binds, filters) = filterClauses(vector: vector, filter: filter)
        binds.append(Double(1 - minimumScore))
        filters.append("(embedding <=> $1::vector(\(dimensions)))::float8 <= $\(binds.count)::float8")
        let whereClause = " WHERE " + filters.joined(separator: " AND ")
        let countSQL = "SELECT count(*)::int8 FROM \(itemsTable)\(whereClause)"
        let pageSQL =
            "SELECT id, (embedding <=> $1::vector(\(dimensions)))::float8 AS distance FROM \(itemsTable)"
            + "\(whereClause) ORDER BY distance, id" + (limit == .max ? "" : " LIMIT \(limit)") + " OFFSET \(offset)"
        return try await transaction("finding all") { conn in
            try await self.exec(conn, "SET LOCAL enable_indexscan = off")
            let total = Int(try await self.scalar(conn, countSQL, binds))
            let rows = try await conn.query(PostgresQuery(unsafeSQL: pageSQL, binds: binds), logger: self.logger)
            var hits: [SearchHit] = []
            for try await (id, distance) in rows.decode((Int64, Double).self) {
                hits.append(SearchHit(id: self.callerID(id), score: Float(1 - distance)))
            }
            return RangePage(hits: hits, total: total)
        }
    }

    /// The plan PostgreSQL chooses for a search (`EXPLAIN (VERBOSE)`): whether the HNSW index is used, and for a
    /// sharded store the SQL each shard is sent.
    public func explainSearch(
        vector: [Float], k: Int, exact: Bool, filter: SearchFilter = .none
    ) async throws
        -> String
    {
        return try await transaction("explaining a search") { conn in
            let query = try await self.searchQuery(vector: vector, k: k, exact: exact, filter: filter, conn: conn)
            for setting in query.settings { try await self.exec(conn, setting) }
            let rows = try await conn.query(
                PostgresQuery(unsafeSQL: "EXPLAIN (VERBOSE, COSTS OFF) " + query.query.sql, binds: query.query.binds),
                logger: self.logger)
            var lines: [String] = []
            for try await line in rows.decode(String.self) { lines.append(line) }
            return lines.joined(separator: "\n")
        }
    }

    /// The query vector as `$1` and the WHERE conditions of `filter`, with their bindings.
    private func filterClauses(vector: [Float], filter: SearchFilter) -> (binds: PostgresBindings, filters: [String]) {
        var binds = PostgresBindings()
        binds.append(PGVector(values: vector, oid: vectorOID))
        var filters: [String] = []
        if let allowed = filter.allowed {
            binds.append(allowed.map(storeID).sorted())
            filters.append("id = ANY($\(binds.count)::int8[])")
        }
        if !filter.excluded.isEmpty {
            binds.append(filter.excluded.map(storeID).sorted())
            filters.append("NOT (id = ANY($\(binds.count)::int8[]))")
        }
        if let box = filter.boundingBox {
            for value in [box.maxLon, box.minLon, box.maxLat, box.minLat] { binds.append(value) }
            let n = binds.count
            filters.append(
                "lon_min <= $\(n - 3)::float8 AND lon_max >= $\(n - 2)::float8 "
                    + "AND lat_min <= $\(n - 1)::float8 AND lat_max >= $\(n)::float8")
        }
        return (binds, filters)
    }

    private func searchQuery(
        vector: [Float], k: Int, exact: Bool, filter: SearchFilter, conn: PostgresConnection
    ) async throws
        -> (settings: [String], query: PostgresQuery)
    {
        let d = dimensions
        let distance = "embedding <=> $1::vector(\(d))"
        let (binds, filters) = filterClauses(vector: vector, filter: filter)
        let whereClause = filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
        if isSharded {
            let centre = !exact && indexKind == .binary ? try await binaryCentre(conn) : nil
            let sql = shardedSearchSQL(k: k, exact: exact, whereClause: whereClause, centre: centre)
            return ([], PostgresQuery(unsafeSQL: sql, binds: binds))
        }
        if exact || !canIndex {
            let sql =
                "SELECT id, (\(distance))::float8 AS distance FROM \(itemsTable)\(whereClause) "
                + "ORDER BY distance, id LIMIT \(k)"
            return (["SET LOCAL enable_indexscan = off"], PostgresQuery(unsafeSQL: sql, binds: binds))
        }
        if indexKind == .binary {
            // Hamming-nearest candidates through the index on the binary codes, re-ranked by the exact cosine.
            let depth = max(options.rerankDepth, k)
            let centre = try await binaryCentre(conn)
            let hamming =
                binaryCode(of: "embedding", centre: centre) + " <~> "
                + binaryCode(of: "$1::vector(\(d))", centre: centre)
            var settings = [
                "SET LOCAL hnsw.ef_search = \(min(1000, max(options.efSearch, depth)))",
                "SET LOCAL enable_seqscan = off"
            ]
            if !filters.isEmpty { settings.append("SET LOCAL hnsw.iterative_scan = relaxed_order") }
            let sql =
                "SELECT id, (\(distance))::float8 AS distance FROM (SELECT id, embedding FROM \(itemsTable)\(whereClause) "
                + "ORDER BY \(hamming) LIMIT \(depth)) AS candidates ORDER BY distance, id LIMIT \(k)"
            return (settings, PostgresQuery(unsafeSQL: sql, binds: binds))
        }
        let order = indexesHalfPrecision ? "embedding_half <=> $1::vector(\(d))::halfvec(\(d))" : distance
        var settings = [
            "SET LOCAL hnsw.ef_search = \(min(1000, max(options.efSearch, k)))",
            // Small tables would otherwise be sorted by a sequential scan.
            "SET LOCAL enable_seqscan = off"
        ]
        if !filters.isEmpty { settings.append("SET LOCAL hnsw.iterative_scan = strict_order") }
        let sql =
            "SELECT id, (\(distance))::float8 AS distance FROM \(itemsTable)\(whereClause) "
            + "ORDER BY \(order) LIMIT \(k)"
        return (settings, PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    /// The `k` items whose binary codes are nearest to `code` in Hamming distance (`<~>`), nearest first,
    /// ties by smaller id; exact scan, or the `bit_hamming_ops` HNSW index when `exact` is `false`.
    ///
    /// - Throws: ``PostgresStoreError/invalidInput(table:reason:)`` when the store has no codes or `code` has
    ///   the wrong length.
    public func searchCodes(_ code: [UInt8], k: Int, exact: Bool = true) async throws -> [(id: Int64, distance: Int)] {
        guard let bits = options.codeBits else {
            throw PostgresStoreError.invalidInput(
                table: itemsTable,
                reason: "the store holds no binary codes "
                    + "(open it with codeBits to store them)")
        }
        guard code.count == (bits + 7) / 8 else {
            throw PostgresStoreError.invalidInput(
                table: itemsTable,
                reason: "query code has \(code.count) bytes, "
                    + "\(bits) bits need \((bits + 7) / 8)")
        }
        guard k > 0 else { return [] }
        var binds = PostgresBindings()
        binds.append(Self.bitString(code, bits: bits))
        let distance = "code <~> $1::text::bit(\(bits))"
        let sql =
            exact
            ? "SELECT id, (\(distance))::float8 AS distance FROM \(itemsTable) WHERE code IS NOT NULL ORDER BY distance, id LIMIT \(k)"
            : "SELECT id, (\(distance))::float8 AS distance FROM \(itemsTable) ORDER BY \(distance) LIMIT \(k)"
        let settings =
            exact
            ? ["SET LOCAL enable_indexscan = off"]
            : ["SET LOCAL hnsw.ef_search = \(min(1000, max(options.efSearch, k)))", "SET LOCAL enable_seqscan = off"]
        return try await transaction("searching codes") { conn in
            for setting in settings { try await self.exec(conn, setting) }
            let rows = try await conn.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: self.logger)
            var hits: [(id: Int64, distance: Int)] = []
            for try await (id, distance) in rows.decode((Int64, Double).self) {
                hits.append((self.callerID(id), Int(distance)))
            }
            return hits
        }
    }
}
