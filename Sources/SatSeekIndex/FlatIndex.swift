import COpenBLAS
import Dispatch

/// Exact (brute-force) index over float32 vectors stored row-major.
///
/// - ``Metric/cosine``: vectors are L2-normalised on ``add(ids:vectors:)`` and
///   queries on search, so the score is the inner product of unit vectors.
///   All-zero vectors stay zero (score `0` against everything).
/// - ``Metric/innerProduct``: raw dot products.
/// - ``Metric/l2``: the score is the negative squared Euclidean distance,
///   computed as `2·x·q − ‖x‖² − ‖q‖²` (clamped to `≤ 0`).
///
/// A single query is one `cblas_sgemv` over the whole matrix followed by a
/// bounded-heap top-k selection (O(n log k)); a batch is `cblas_sgemm` over
/// blocks of queries followed by per-row selection spread over the CPU cores.
/// Hits are sorted best first, ties broken by the smaller id.
///
/// Ids are not checked for uniqueness; adding the same id twice makes it
/// appear twice in results.
public struct FlatIndex: VectorIndex {
    /// Length of every stored vector.
    public let dimensions: Int
    /// Similarity measure used for scoring.
    public let metric: Metric
    /// Ids in insertion order; row `i` of the matrix belongs to `ids[i]`.
    public private(set) var ids: [Int64] = []
    /// Row-major `count × dimensions` matrix (normalised for cosine).
    private var matrix: [Float] = []
    /// `‖row‖²` per row; only maintained for ``Metric/l2``.
    private var squaredNorms: [Float] = []

    /// Upper bound on the floats of one score block in batch search (32 MiB).
    static let maxBlockFloats = 8 * 1024 * 1024

    /// Number of stored vectors.
    public var count: Int { ids.count }

    /// Creates an empty index for vectors of length `dimensions` (must be > 0).
    public init(dimensions: Int, metric: Metric = .cosine) {
        precondition(dimensions > 0, "FlatIndex dimensions must be positive, got \(dimensions)")
        self.dimensions = dimensions
        self.metric = metric
    }

    /// Creates an index and adds `vectors` (row-major, `ids.count × dimensions`).
    public init(dimensions: Int, metric: Metric = .cosine, ids: [Int64], vectors: [Float]) {
        self.init(dimensions: dimensions, metric: metric)
        add(ids: ids, vectors: vectors)
    }

    /// Appends vectors given row-major; `vectors.count` must equal
    /// `ids.count × dimensions`.
    public mutating func add(ids newIDs: [Int64], vectors: [Float]) {
        precondition(vectors.count == newIDs.count * dimensions,
                     "add: expected \(newIDs.count) × \(dimensions) floats, got \(vectors.count)")
        guard !newIDs.isEmpty else { return }
        let firstRow = ids.count
        ids.append(contentsOf: newIDs)
        matrix.append(contentsOf: vectors)
        let dims = dimensions
        switch metric {
        case .cosine:
            matrix.withUnsafeMutableBufferPointer { buffer in
                let tail = UnsafeMutableBufferPointer(rebasing: buffer[(firstRow * dims)...])
                Self.normaliseRows(tail, dimensions: dims)
            }
        case .l2:
            vectors.withUnsafeBufferPointer { buffer in
                for row in 0..<newIDs.count {
                    squaredNorms.append(Self.squaredNorm(buffer.baseAddress! + row * dims, dims))
                }
            }
        case .innerProduct:
            break
        }
    }

    /// The `k` best hits for `query` (length ``dimensions``), skipping ids in
    /// `excluding`. `k` larger than the number of candidates returns them all.
    public func search(_ query: [Float], k: Int, excluding: Set<Int64>) -> [SearchHit] {
        precondition(query.count == dimensions,
                     "search: query has \(query.count) floats, index has \(dimensions) dimensions")
        guard k > 0, count > 0 else { return [] }
        var q = query
        if metric == .cosine {
            q.withUnsafeMutableBufferPointer { Self.normaliseRows($0, dimensions: dimensions) }
        }
        var scores = [Float](repeating: 0, count: count)
        matrix.withUnsafeBufferPointer { a in
            q.withUnsafeBufferPointer { x in
                scores.withUnsafeMutableBufferPointer { y in
                    cblas_sgemv(CblasRowMajor, CblasNoTrans,
                                blasInt(count), blasInt(dimensions), 1,
                                a.baseAddress, blasInt(dimensions),
                                x.baseAddress, 1, 0, y.baseAddress, 1)
                }
            }
        }
        if metric == .l2 {
            let qNorm = q.withUnsafeBufferPointer { Self.squaredNorm($0.baseAddress!, dimensions) }
            scores.withUnsafeMutableBufferPointer { s in
                squaredNorms.withUnsafeBufferPointer { n in
                    Self.convertToNegativeL2(s, norms: n, queryNorm: qNorm)
                }
            }
        }
        return scores.withUnsafeBufferPointer { s in
            ids.withUnsafeBufferPointer { selectTopK(scores: s, ids: $0, k: k, excluding: excluding) }
        }
    }

    /// The `k` best hits for each row-major query; `queries.count` must be a
    /// multiple of ``dimensions``. Element `i` equals a single search of query `i`.
    public func search(batch queries: [Float], k: Int) -> [[SearchHit]] {
        batchSearch(queries, k: k, excluding: nil, blockFloats: Self.maxBlockFloats)
    }

    /// Batch search where query `i` skips the ids in `excluding[i]` — e.g. leave-one-out
    /// evaluation with `excluding[i] = [id of query i]`. `excluding.count` must equal
    /// the number of queries.
    public func search(batch queries: [Float], k: Int, excluding: [Set<Int64>]) -> [[SearchHit]] {
        precondition(excluding.count * dimensions == queries.count,
                     "search(batch:excluding:): need one exclusion set per query")
        return batchSearch(queries, k: k, excluding: excluding, blockFloats: Self.maxBlockFloats)
    }

    // MARK: - Batch implementation

    /// Batch search computing scores in blocks of at most `blockFloats` floats
    /// (at least one query row per block).
    func batchSearch(
        _ queries: [Float], k: Int, excluding: [Set<Int64>]?, blockFloats: Int
    ) -> [[SearchHit]] {
        precondition(queries.count % dimensions == 0,
                     "search(batch:): \(queries.count) floats is not a multiple of \(dimensions) dimensions")
        let queryCount = queries.count / dimensions
        guard queryCount > 0 else { return [] }
        guard k > 0, count > 0 else { return Array(repeating: [], count: queryCount) }

        var q = queries
        if metric == .cosine {
            q.withUnsafeMutableBufferPointer { Self.normaliseRows($0, dimensions: dimensions) }
        }
        let n = count
        let dims = dimensions
        let blockRows = max(1, min(queryCount, blockFloats / n))
        var scores = [Float](repeating: 0, count: blockRows * n)
        var results = [[SearchHit]](repeating: [], count: queryCount)

        var start = 0
        while start < queryCount {
            let rows = min(blockRows, queryCount - start)
            q.withUnsafeBufferPointer { qb in
                matrix.withUnsafeBufferPointer { mb in
                    scores.withUnsafeMutableBufferPointer { sb in
                        // scores[rows × n] = Q[rows × d] · Mᵀ[d × n]
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                    blasInt(rows), blasInt(n), blasInt(dims), 1,
                                    qb.baseAddress! + start * dims, blasInt(dims),
                                    mb.baseAddress, blasInt(dims), 0,
                                    sb.baseAddress, blasInt(n))
                    }
                }
            }
            selectBlock(scores: &scores, queries: q, firstQuery: start, rows: rows,
                        k: k, excluding: excluding, into: &results)
            start += rows
        }
        return results
    }

    /// Per-row top-k over one score block, parallel over rows when worthwhile.
    private func selectBlock(
        scores: inout [Float], queries: [Float], firstQuery: Int, rows: Int,
        k: Int, excluding: [Set<Int64>]?, into results: inout [[SearchHit]]
    ) {
        let n = count
        let dims = dimensions
        let isL2 = metric == .l2
        scores.withUnsafeMutableBufferPointer { sb in
            queries.withUnsafeBufferPointer { qb in
                ids.withUnsafeBufferPointer { idb in
                    squaredNorms.withUnsafeBufferPointer { nb in
                        results.withUnsafeMutableBufferPointer { rb in
                            let shared = BlockBuffers(scores: sb, queries: qb, ids: idb, norms: nb, results: rb)
                            let work: @Sendable (Int) -> Void = { row in
                                let rowScores = UnsafeMutableBufferPointer(
                                    rebasing: shared.scores[(row * n)..<((row + 1) * n)])
                                let queryIndex = firstQuery + row
                                if isL2 {
                                    let qNorm = Self.squaredNorm(shared.queries.baseAddress! + queryIndex * dims, dims)
                                    Self.convertToNegativeL2(rowScores, norms: shared.norms, queryNorm: qNorm)
                                }
                                // Each row writes only its own result slot.
                                shared.results[queryIndex] = selectTopK(
                                    scores: UnsafeBufferPointer(rowScores), ids: shared.ids, k: k,
                                    excluding: excluding?[queryIndex] ?? [])
                            }
                            // Parallelise only when each row carries enough work.
                            if rows > 1, rows * n >= 1 << 15 {
                                DispatchQueue.concurrentPerform(iterations: rows, execute: work)
                            } else {
                                for row in 0..<rows { work(row) }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Kernels

    /// L2-normalises each `dimensions`-long row in place; zero rows are left as is.
    static func normaliseRows(_ buffer: UnsafeMutableBufferPointer<Float>, dimensions: Int) {
        guard let base = buffer.baseAddress else { return }
        let rows = buffer.count / dimensions
        for row in 0..<rows {
            let pointer = base + row * dimensions
            let norm = cblas_snrm2(blasInt(dimensions), pointer, 1)
            if norm > 0, norm.isFinite {
                cblas_sscal(blasInt(dimensions), 1 / norm, pointer, 1)
            }
        }
    }

    /// `‖x‖²` of a `dimensions`-long vector.
    @inline(__always)
    static func squaredNorm(_ pointer: UnsafePointer<Float>, _ dimensions: Int) -> Float {
        cblas_sdot(blasInt(dimensions), pointer, 1, pointer, 1)
    }

    /// Turns dot products into `-(‖x‖² − 2x·q + ‖q‖²)`, clamped to `≤ 0`.
    @inline(__always)
    static func convertToNegativeL2(
        _ scores: UnsafeMutableBufferPointer<Float>, norms: UnsafeBufferPointer<Float>, queryNorm: Float
    ) {
        for i in 0..<scores.count {
            scores[i] = min(0, 2 * scores[i] - norms[i] - queryNorm)
        }
    }
}

/// Raw views shared by the rows of one batch block. Rows touch disjoint score
/// ranges and result slots, and the buffers outlive `concurrentPerform`.
private struct BlockBuffers: @unchecked Sendable {
    let scores: UnsafeMutableBufferPointer<Float>
    let queries: UnsafeBufferPointer<Float>
    let ids: UnsafeBufferPointer<Int64>
    let norms: UnsafeBufferPointer<Float>
    let results: UnsafeMutableBufferPointer<[SearchHit]>
}

/// Converts a Swift `Int` to the CBLAS integer type, trapping on overflow.
@inline(__always)
func blasInt(_ value: Int) -> Int32 { Int32(value) }
