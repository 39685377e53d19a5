import Dispatch

extension HNSWIndex {
    /// The `k` best hits for `query` with the default ``Parameters/efSearch``,
    /// skipping tombstones and ids in `excluding`.
    public func search(_ query: [Float], k: Int, excluding: Set<Int64>) -> [SearchHit] {
        search(query, k: k, efSearch: nil, allowed: nil, excluding: excluding)
    }

    /// The `k` best hits among the ids in `allowed` (e.g. tiles inside a map box).
    /// Returns `min(k, allowed live ids)` hits: small allowed sets are searched
    /// exactly, larger ones by a widened graph search with an exact fallback when the
    /// graph walk finds too few.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>, excluding: Set<Int64> = []) -> [SearchHit] {
        search(query, k: k, efSearch: nil, allowed: allowed, excluding: excluding)
    }

    /// Full-control search: beam width `efSearch` (nil: ``Parameters/efSearch``; always
    /// at least `k`), optional allowed-id filter and excluded ids.
    public func search(
        _ query: [Float], k: Int, efSearch: Int?, allowed: Set<Int64>? = nil,
        excluding: Set<Int64> = []
    ) -> [SearchHit] {
        checkArgument(
            query.count == dimensions, "search: query has \(query.count) floats, index has \(dimensions) dimensions")
        guard k > 0, entryPoint >= 0 else { return [] }
        let q = metric.prepared(query, dimensions: dimensions)
        let scratch = scratchPool.take()
        defer { scratchPool.give(scratch) }
        return q.withUnsafeBufferPointer { qb in
            withGraph { graph in
                search(
                    qb.baseAddress!, k: k, ef: efSearch ?? parameters.efSearch, allowed: allowed,
                    excluding: excluding, graph: graph, scratch: scratch)
            }
        }
    }

    /// The `k` best hits for each row-major query, spread over the cores.
    public func search(batch queries: [Float], k: Int) -> [[SearchHit]] {
        search(batch: queries, k: k, efSearch: nil)
    }

    /// Batch search with an explicit beam width (nil: ``Parameters/efSearch``).
    public func search(batch queries: [Float], k: Int, efSearch: Int?) -> [[SearchHit]] {
        checkArgument(queries.count % dimensions == 0, "search(batch:): not a whole number of queries")
        let queryCount = queries.count / dimensions
        var results = [[SearchHit]](repeating: [], count: queryCount)
        guard k > 0, entryPoint >= 0, queryCount > 0 else { return results }
        let q = metric.prepared(queries, dimensions: dimensions)
        let ef = efSearch ?? parameters.efSearch
        let workers = min(queryCount, CPUCores.count)
        let dims = dimensions
        q.withUnsafeBufferPointer { qb in
            withGraph { graph in
                results.withUnsafeMutableBufferPointer { rb in
                    let out = SendablePointer(rb.baseAddress!)
                    let input = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!))
                    let index = self
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let scratch = HNSWScratch()
                        var i = worker
                        while i < queryCount {
                            out.pointer[i] = index.search(
                                input.pointer + i * dims, k: k, ef: ef, allowed: nil,
                                excluding: [], graph: graph, scratch: scratch)
                            i += workers
                        }
                    }
                }
            }
        }
        return results
    }

    /// Marks `id` deleted (a tombstone): it keeps routing searches but is never
    /// returned. Returns `false` when the id is unknown or already deleted.
    @discardableResult
    public mutating func delete(id: Int64) -> Bool {
        guard let node = nodeByID[id], !deleted[node] else { return false }
        deleted[node] = true
        deletedCount += 1
        nodeByID[id] = nil
        return true
    }

    /// Rebuilds the graph from the live vectors (insertion order, same parameters and
    /// seed), dropping tombstones. Float16 indexes re-insert their rounded vectors.
    public mutating func rebuild() {
        var fresh = HNSWIndex(dimensions: dimensions, metric: metric, storage: storage, parameters: parameters)
        var liveIDs: [Int64] = []
        var liveRows: [Float] = []
        liveIDs.reserveCapacity(liveCount)
        liveRows.reserveCapacity(liveCount * dimensions)
        for node in 0..<count where !deleted[node] {
            liveIDs.append(ids[node])
            liveRows.append(contentsOf: vector(atNode: node))
        }
        fresh.add(ids: liveIDs, vectors: liveRows)
        self = fresh
    }

    /// The stored vector of a node as floats.
    func vector(atNode node: Int) -> [Float] {
        let start = node * dimensions
        if storage == .float32 { return Array(float32Rows[start..<(start + dimensions)]) }
        return float16Rows[start..<(start + dimensions)].map { Float($0) }
    }

    /// Core search on a prepared query.
    func search(
        _ q: UnsafePointer<Float>, k: Int, ef: Int, allowed: Set<Int64>?, excluding: Set<Int64>,
        graph: HNSWGraphView, scratch: HNSWScratch
    ) -> [SearchHit] {
        let ids = self.ids
        let deleted = self.deleted
        let hasDeletions = deletedCount > 0
        var width = max(ef, k)
        if let allowed {
            // Live nodes that may be returned.
            var nodes: [Int] = []
            nodes.reserveCapacity(min(allowed.count, count))
            for id in allowed where !excluding.contains(id) {
                if let node = nodeByID[id], !deleted[node] { nodes.append(node) }
            }
            guard !nodes.isEmpty else { return [] }
            let spread = max(1, liveCount / nodes.count)
            width = min(max(liveCount, 1), width * min(16, spread))
            if nodes.count <= width * parameters.M {
                return exactSearch(q, k: k, nodes: nodes, graph: graph)
            }
            let hits = graphSearch(q, k: k, ef: width, graph: graph, scratch: scratch) { node in
                !deleted[node] && allowed.contains(ids[node]) && !excluding.contains(ids[node])
            }
            if hits.count >= min(k, nodes.count) { return hits }
            return exactSearch(q, k: k, nodes: nodes, graph: graph)
        }
        if excluding.isEmpty && !hasDeletions {
            return graphSearch(q, k: k, ef: width, graph: graph, scratch: scratch, accept: nil)
        }
        return graphSearch(q, k: k, ef: width, graph: graph, scratch: scratch) { node in
            !deleted[node] && !excluding.contains(ids[node])
        }
    }

    /// Greedy descent through the upper layers, then a beam search on layer 0.
    private func graphSearch(
        _ q: UnsafePointer<Float>, k: Int, ef: Int, graph: HNSWGraphView,
        scratch: HNSWScratch, accept: ((Int) -> Bool)?
    ) -> [SearchHit] {
        var current = Neighbor(distance: graph.distance(q, entryPoint), node: UInt32(entryPoint))
        if maxLevel > 0 {
            for layer in stride(from: maxLevel, to: 0, by: -1) {
                current = graph.greedy(q, from: current, level: layer, scratch: scratch)
            }
        }
        scratch.reset(nodes: graph.count, dimensions: dimensions)
        graph.searchLayer(q, entry: current, ef: ef, level: 0, scratch: scratch, accept: accept)
        return hits(from: scratch.results.items, k: k)
    }

    /// Exact scoring of the given nodes.
    private func exactSearch(_ q: UnsafePointer<Float>, k: Int, nodes: [Int], graph: HNSWGraphView) -> [SearchHit] {
        hits(from: nodes.map { Neighbor(distance: graph.distance(q, $0), node: UInt32($0)) }, k: k)
    }

    /// The `k` closest as hits, best first, ties by smaller id.
    private func hits(from found: [Neighbor], k: Int) -> [SearchHit] {
        var hits = found.map { SearchHit(id: ids[Int($0.node)], score: -$0.distance) }
        hits.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(hits.prefix(k))
    }
}
