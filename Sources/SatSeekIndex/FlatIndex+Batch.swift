import COpenBLAS
import Dispatch

extension FlatIndex {
    /// The `k` best hits for each row-major query; `queries.count` must be a
    /// multiple of ``dimensions``. Element `i` equals a single search of query `i`.
    public func search(batch queries: [Float], k: Int) -> [[SearchHit]] {
        batchSearch(queries, k: k, excluding: nil, blockFloats: Self.maxBlockFloats)
    }

    /// Batch search where query `i` skips the ids in `excluding[i]` — e.g. leave-one-out
    /// evaluation with `excluding[i] = [id of query i]`. `excluding.count` must equal
    /// the number of queries.
    public func search(batch queries: [Float], k: Int, excluding: [Set<Int64>]) -> [[SearchHit]] {
        checkArgument(
            excluding.count * dimensions == queries.count,
            "search(batch:excluding:): need one exclusion set per query")
        return batchSearch(queries, k: k, excluding: excluding, blockFloats: Self.maxBlockFloats)
    }

    /// Batch search over database tiles: each tile of at most `blockFloats / queries`
    /// rows is scored against every query with one `cblas_sgemm` (float16/int8 tiles
    /// are widened to float32 first) and fed into per-query bounded heaps, so the
    /// stored rows are read once for the whole batch.
    func batchSearch(
        _ queries: [Float], k: Int, excluding: [Set<Int64>]?, blockFloats: Int,
        accept: (@Sendable (Int64) -> Bool)? = nil
    ) -> [[SearchHit]] {
        checkArgument(
            queries.count % dimensions == 0,
            "search(batch:): \(queries.count) floats is not a multiple of \(dimensions) dimensions")
        let queryCount = queries.count / dimensions
        guard queryCount > 0 else { return [] }
        guard k > 0, count > 0 else { return Array(repeating: [], count: queryCount) }
        let q = metric.prepared(queries, dimensions: dimensions)
        let n = count, dims = dimensions
        var tileRows = max(1, min(n, blockFloats / queryCount))
        if storage != .float32 { tileRows = max(1, min(tileRows, Self.maxWidenedFloats / dims)) }
        var scores = [Float](repeating: 0, count: tileRows * queryCount)
        var widened = [Float](repeating: 0, count: storage == .float32 ? 0 : tileRows * dims)
        var selectors = (0..<queryCount).map { _ in TopKSelector(k: k, expected: n) }
        let queryNorms: [Float] =
            metric == .l2
            ? q.withUnsafeBufferPointer { b in
                (0..<queryCount).map { VectorKernels.dot(b.baseAddress! + $0 * dims, b.baseAddress! + $0 * dims, dims) }
            }
            : []
        let isL2 = metric == .l2
        let workers = min(queryCount, CPUCores.count)

        withView { view in
            q.withUnsafeBufferPointer { qb in
                scores.withUnsafeMutableBufferPointer { sb in
                    widened.withUnsafeMutableBufferPointer { wb in
                        selectors.withUnsafeMutableBufferPointer { selb in
                            queryNorms.withUnsafeBufferPointer { qnb in
                                let shared = TileBuffers(scores: sb, selectors: selb, queryNorms: qnb, widened: wb)
                                var start = 0
                                while start < n {
                                    let rows = min(tileRows, n - start)
                                    let tile: UnsafePointer<Float>
                                    if view.storage == .float32 {
                                        tile = view.vectors.assumingMemoryBound(to: Float.self) + start * dims
                                    } else {
                                        Self.widenParallel(
                                            view, rows: start..<(start + rows), into: shared.widened.baseAddress!)
                                        tile = UnsafePointer(shared.widened.baseAddress!)
                                    }
                                    // scores[queries × rows] = Q · tileᵀ
                                    cblas_sgemm(
                                        CblasRowMajor, CblasNoTrans, CblasTrans,
                                        blasInt(queryCount), blasInt(rows), blasInt(dims), 1,
                                        qb.baseAddress!, blasInt(dims), tile, blasInt(dims), 0,
                                        sb.baseAddress!, blasInt(rows))
                                    let tileStart = start
                                    let select: @Sendable (Int) -> Void = { worker in
                                        var query = worker
                                        while query < queryCount {
                                            let row = shared.scores.baseAddress! + query * rows
                                            if isL2 {
                                                let qn = shared.queryNorms[query]
                                                for j in 0..<rows {
                                                    row[j] = min(0, 2 * row[j] - view.norms![tileStart + j] - qn)
                                                }
                                            }
                                            let skip = excluding?[query]
                                            let hasSkip = !(skip?.isEmpty ?? true)
                                            for j in 0..<rows where shared.selectors[query].mightAccept(row[j]) {
                                                let id = view.ids[tileStart + j]
                                                if hasSkip, skip!.contains(id) { continue }
                                                if let accept, !accept(id) { continue }
                                                shared.selectors[query].offer(score: row[j], id: id)
                                            }
                                            query += workers
                                        }
                                    }
                                    if workers > 1, rows * queryCount >= 1 << 14 {
                                        DispatchQueue.concurrentPerform(iterations: workers, execute: select)
                                    } else {
                                        for worker in 0..<workers { select(worker) }
                                    }
                                    start += rows
                                }
                            }
                        }
                    }
                }
            }
        }
        return selectors.map { $0.sortedHits() }
    }

    /// Widens a tile of rows to float32, split over the cores when large.
    static func widenParallel(_ view: FlatView, rows: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        let parts = rows.count * view.dimensions >= 1 << 16 ? CPUCores.count : 1
        let per = (rows.count + parts - 1) / parts
        let out = SendablePointer(target)
        let work: @Sendable (Int) -> Void = { part in
            let lower = rows.lowerBound + part * per
            let upper = min(rows.upperBound, lower + per)
            guard lower < upper else { return }
            view.widenRows(lower..<upper, into: out.pointer + (lower - rows.lowerBound) * view.dimensions)
        }
        if parts > 1 { DispatchQueue.concurrentPerform(iterations: parts, execute: work) } else { work(0) }
    }
}

/// Raw views shared by the selection workers of one tile. Workers touch disjoint
/// query rows and selectors, and the buffers outlive `concurrentPerform`.
private struct TileBuffers: @unchecked Sendable {
    let scores: UnsafeMutableBufferPointer<Float>
    let selectors: UnsafeMutableBufferPointer<TopKSelector>
    let queryNorms: UnsafeBufferPointer<Float>
    let widened: UnsafeMutableBufferPointer<Float>
}
