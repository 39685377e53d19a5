import Foundation

extension HNSWIndex {
    /// What ``synchronize(ids:vectors:maximumTombstoneFraction:)`` changed.
    public struct SyncReport: Sendable, Codable, Equatable {
        /// Ids inserted for the first time.
        public var added = 0
        /// Ids whose vector changed: the old node became a tombstone and the new vector was inserted.
        public var changed = 0
        /// Ids no longer wanted: tombstoned (they keep routing searches but are never returned).
        public var removed = 0
        /// Whether tombstones passed the limit, so the graph was rebuilt from its live vectors.
        public var rebuilt = false
    }

    /// Makes the graph hold exactly `ids` with `vectors` (row-major, `ids.count × dimensions`) by editing it
    /// rather than building it again: new ids are inserted into the existing graph, ids that are gone become
    /// tombstones, and an id whose vector changed is re-inserted (its old node tombstoned). When tombstones would
    /// pass `maximumTombstoneFraction` of all nodes, the graph is rebuilt from its live vectors instead, so
    /// searches never wade through mostly dead nodes.
    ///
    /// Adding 1 % to a large graph costs that 1 % of a build, not a whole one (see `satseek bench hnsw-update`).
    @discardableResult
    public mutating func synchronize(
        ids wanted: [Int64], vectors: [Float],
        maximumTombstoneFraction: Double = 0.2
    ) -> SyncReport {
        checkArgument(
            vectors.count == wanted.count * dimensions,
            "synchronize: expected \(wanted.count) × \(dimensions) floats, got \(vectors.count)")
        let dims = dimensions
        let prepared = metric.prepared(vectors, dimensions: dims)
        // float16 rows differ from the float32 input by their rounding; anything beyond it is a new vector.
        let tolerance: Float = storage == .float16 ? 2e-3 : 1e-6
        var report = SyncReport()
        var insertIDs: [Int64] = []
        var insertRows: [Float] = []
        for (row, id) in wanted.enumerated() {
            let start = row * dims
            if let node = nodeByID[id], !deleted[node] {
                let stored = vector(atNode: node)
                let same = (0..<dims).allSatisfy { abs(stored[$0] - prepared[start + $0]) <= tolerance }
                if same { continue }
                report.changed += 1
            } else {
                report.added += 1
            }
            insertIDs.append(id)
            insertRows.append(contentsOf: vectors[start..<(start + dims)])
        }
        let keep = Set(wanted)
        let gone = nodeByID.compactMap { id, node in !deleted[node] && !keep.contains(id) ? id : nil }
        for id in gone where delete(id: id) { report.removed += 1 }
        add(ids: insertIDs, vectors: insertRows)  // re-adding a live id tombstones its old node
        if count > 0, Double(deletedCount) > maximumTombstoneFraction * Double(count) {
            rebuild()
            report.rebuilt = true
        }
        return report
    }
}
