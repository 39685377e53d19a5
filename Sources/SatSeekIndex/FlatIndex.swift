import COpenBLAS
import Dispatch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Exact (brute-force) index over vectors stored as float32, float16 or int8
/// (see ``VectorStorage``), either in memory or memory-mapped from an index file.
///
/// - ``Metric/cosine``: vectors are L2-normalised on ``add(ids:vectors:)`` (before
///   quantisation) and queries on search, so the score is the inner product of unit
///   vectors. All-zero vectors stay zero (score `0` against everything).
/// - ``Metric/innerProduct``: raw dot products.
/// - ``Metric/l2``: the score is the negative squared Euclidean distance,
///   computed as `2·x·q − ‖x‖² − ‖q‖²` (clamped to `≤ 0`) where `x` is the stored
///   (possibly quantised) vector.
///
/// Scores are exact for what is stored: float16/int8 indexes score the rounded vectors
/// against the float32 query. A single query is one `cblas_sgemv` (float32) or a SIMD
/// scan split over the cores (float16/int8), then a bounded-heap top-k; a batch walks
/// the database in tiles (float16/int8 tiles widened to float32), scores each tile
/// against all queries with one `cblas_sgemm`, and feeds per-query heaps, so the
/// database is read once per batch. Hits are sorted best first, ties broken by the
/// smaller id. Ids are not checked for uniqueness.
public struct FlatIndex: VectorIndex {
    /// Length of every stored vector.
    public let dimensions: Int
    /// Similarity measure used for scoring.
    public let metric: Metric
    /// Element type of the stored vectors.
    public let storage: VectorStorage

    var ownedIDs: [Int64] = []
    var float32Rows: [Float] = []
    var float16Rows: [Float16] = []
    var int8Rows: [Int8] = []
    /// Per-row dequantisation scale; only for ``VectorStorage/int8``.
    var rowScales: [Float] = []
    /// `‖stored row‖²`; only maintained for ``Metric/l2``.
    var squaredNorms: [Float] = []
    /// Set when the rows live in a mapped index file (until the first `add`).
    var mapping: FlatMapping?

    /// Upper bound on the floats of one score tile in batch search (32 MiB).
    static let maxBlockFloats = 8 * 1024 * 1024
    /// Upper bound on the floats of one widened float16/int8 tile (4 MiB).
    static let maxWidenedFloats = 1024 * 1024

    /// Number of stored vectors.
    public var count: Int { mapping?.count ?? ownedIDs.count }

    /// Ids in insertion order; row `i` belongs to `ids[i]` (copied out of a mapping).
    public var ids: [Int64] {
        if let mapping { return Array(UnsafeBufferPointer(start: mapping.ids, count: mapping.count)) }
        return ownedIDs
    }

    /// Creates an empty float32 index for vectors of length `dimensions` (must be > 0).
    public init(dimensions: Int, metric: Metric = .cosine) {
        self.init(dimensions: dimensions, metric: metric, storage: .float32)
    }

    /// Creates an empty index storing vectors as `storage`.
    public init(dimensions: Int, metric: Metric = .cosine, storage: VectorStorage) {
        checkArgument(dimensions > 0, "FlatIndex dimensions must be positive, got \(dimensions)")
        self.dimensions = dimensions
        self.metric = metric
        self.storage = storage
    }

    /// Creates a float32 index and adds `vectors` (row-major, `ids.count × dimensions`).
    public init(dimensions: Int, metric: Metric = .cosine, ids: [Int64], vectors: [Float]) {
        self.init(dimensions: dimensions, metric: metric, storage: .float32, ids: ids, vectors: vectors)
    }

    /// Creates an index storing vectors as `storage` and adds `vectors` (row-major).
    public init(dimensions: Int, metric: Metric = .cosine, storage: VectorStorage, ids: [Int64], vectors: [Float]) {
        self.init(dimensions: dimensions, metric: metric, storage: storage)
        add(ids: ids, vectors: vectors)
    }

    /// Appends vectors given row-major; `vectors.count` must equal
    /// `ids.count × dimensions`. An index opened from a file is first copied into memory.
    public mutating func add(ids newIDs: [Int64], vectors: [Float]) {
        checkArgument(
            vectors.count == newIDs.count * dimensions,
            "add: expected \(newIDs.count) × \(dimensions) floats, got \(vectors.count)")
        guard !newIDs.isEmpty else { return }
        materialise()
        let dims = dimensions
        let rows = metric.prepared(vectors, dimensions: dims)
        let first = ownedIDs.count
        ownedIDs.append(contentsOf: newIDs)
        switch storage {
        case .float32:
            if float32Rows.isEmpty { float32Rows = rows } else { float32Rows.append(contentsOf: rows) }
        case .float16:
            float16Rows.append(contentsOf: rows.lazy.map { Float16($0) })
        case .int8:
            int8Rows.append(contentsOf: repeatElement(0, count: rows.count))
            rowScales.append(contentsOf: repeatElement(0, count: newIDs.count))
            rows.withUnsafeBufferPointer { source in
                int8Rows.withUnsafeMutableBufferPointer { codes in
                    for row in 0..<newIDs.count {
                        rowScales[first + row] = VectorKernels.quantise(
                            source.baseAddress! + row * dims, into: codes.baseAddress! + (first + row) * dims, dims)
                    }
                }
            }
        }
        if metric == .l2 {
            var widened = [Float](repeating: 0, count: dims)
            for row in first..<ownedIDs.count {
                widened.withUnsafeMutableBufferPointer { w in
                    withView { view in view.widenRow(row, into: w.baseAddress!) }
                    squaredNorms.append(VectorKernels.dot(w.baseAddress!, w.baseAddress!, dims))
                }
            }
        }
    }

    /// Copies mapped rows into owned arrays so the index can grow.
    mutating func materialise() {
        guard let mapped = mapping else { return }
        let n = mapped.count, elements = n * dimensions
        ownedIDs = Array(UnsafeBufferPointer(start: mapped.ids, count: n))
        switch storage {
        case .float32:
            float32Rows = Array(
                UnsafeBufferPointer(start: mapped.vectors.assumingMemoryBound(to: Float.self), count: elements))
        case .float16:
            float16Rows = Array(
                UnsafeBufferPointer(start: mapped.vectors.assumingMemoryBound(to: Float16.self), count: elements))
        case .int8:
            int8Rows = Array(
                UnsafeBufferPointer(start: mapped.vectors.assumingMemoryBound(to: Int8.self), count: elements))
            rowScales = Array(UnsafeBufferPointer(start: mapped.scales!, count: n))
        }
        if metric == .l2 { squaredNorms = Array(UnsafeBufferPointer(start: mapped.norms!, count: n)) }
        mapping = nil
    }

    /// Raw views of the rows (owned or mapped), valid inside `body` only.
    func withView<R>(_ body: (FlatView) -> R) -> R {
        if let m = mapping {
            return body(
                FlatView(
                    count: m.count, dimensions: dimensions, storage: storage,
                    ids: m.ids, vectors: m.vectors, scales: m.scales, norms: m.norms))
        }
        return ownedIDs.withUnsafeBufferPointer { idb in
            rowScales.withUnsafeBufferPointer { sb in
                squaredNorms.withUnsafeBufferPointer { nb in
                    func make(_ vectors: UnsafeRawPointer?) -> R {
                        body(
                            FlatView(
                                count: idb.count, dimensions: dimensions, storage: storage,
                                ids: idb.baseAddress ?? FlatView.emptyIDs,
                                vectors: vectors ?? UnsafeRawPointer(FlatView.emptyIDs),
                                scales: sb.baseAddress, norms: nb.baseAddress))
                    }
                    switch storage {
                    case .float32: return float32Rows.withUnsafeBytes { make($0.baseAddress) }
                    case .float16: return float16Rows.withUnsafeBytes { make($0.baseAddress) }
                    case .int8: return int8Rows.withUnsafeBytes { make($0.baseAddress) }
                    }
                }
            }
        }
    }

    /// The stored vector of row `row` as floats (dequantised; unit length for cosine).
    public func vector(atRow row: Int) -> [Float] {
        checkArgument(row >= 0 && row < count, "vector(atRow:): row \(row) out of range")
        var out = [Float](repeating: 0, count: dimensions)
        out.withUnsafeMutableBufferPointer { o in withView { $0.widenRow(row, into: o.baseAddress!) } }
        return out
    }

    /// The `k` best hits for `query` (length ``dimensions``), skipping ids in
    /// `excluding`. `k` larger than the number of candidates returns them all.
    public func search(_ query: [Float], k: Int, excluding: Set<Int64>) -> [SearchHit] {
        if excluding.isEmpty { return search(query, k: k, accept: nil) }
        return search(query, k: k, accept: { !excluding.contains($0) })
    }

    /// The score of every stored row against `query` (length ``dimensions``), in row order.
    func scoreAll(_ query: [Float]) -> [Float] {
        checkArgument(
            query.count == dimensions,
            "search: query has \(query.count) floats, index has \(dimensions) dimensions")
        let q = metric.prepared(query, dimensions: dimensions)
        var scores = [Float](repeating: 0, count: count)
        withView { view in
            q.withUnsafeBufferPointer { qb in
                scores.withUnsafeMutableBufferPointer { sb in
                    view.scoreAll(query: qb.baseAddress!, metric: metric, into: sb.baseAddress!)
                }
            }
        }
        return scores
    }

    /// Single-query search keeping only ids for which `accept` is true (nil: all).
    func search(_ query: [Float], k: Int, accept: (@Sendable (Int64) -> Bool)?) -> [SearchHit] {
        guard k > 0, count > 0 else { return [] }
        let scores = scoreAll(query)
        return withView { view in
            scores.withUnsafeBufferPointer { s in
                selectTopK(
                    scores: s, ids: UnsafeBufferPointer(start: view.ids, count: view.count), k: k, accept: accept)
            }
        }
    }
}

/// Where a mapped flat index's sections live inside its file.
struct FlatMapping: @unchecked Sendable {
    let file: MappedIndexFile
    let count: Int
    let ids: UnsafePointer<Int64>
    let vectors: UnsafeRawPointer
    let scales: UnsafePointer<Float>?
    let norms: UnsafePointer<Float>?
}

/// Raw pointers to one flat index's rows; valid only inside ``FlatIndex/withView(_:)``.
struct FlatView: @unchecked Sendable {
    nonisolated(unsafe) static let emptyIDs = UnsafePointer<Int64>(UnsafeMutablePointer<Int64>.allocate(capacity: 1))
    let count: Int
    let dimensions: Int
    let storage: VectorStorage
    let ids: UnsafePointer<Int64>
    let vectors: UnsafeRawPointer
    let scales: UnsafePointer<Float>?
    let norms: UnsafePointer<Float>?

    /// Dot product of a float32 query with stored row `row` (dequantised).
    @inline(__always)
    func dot(_ q: UnsafePointer<Float>, row: Int) -> Float {
        let d = dimensions
        switch storage {
        case .float32:
            return VectorKernels.dot(q, vectors.assumingMemoryBound(to: Float.self) + row * d, d)
        case .float16:
            return VectorKernels.dot(q, half: vectors.assumingMemoryBound(to: Float16.self) + row * d, d)
        case .int8:
            return VectorKernels.dot(q, int8: vectors.assumingMemoryBound(to: Int8.self) + row * d, d) * scales![row]
        }
    }

    /// Writes stored row `row` as floats (dequantised) into `target`.
    func widenRow(_ row: Int, into target: UnsafeMutablePointer<Float>) {
        widenRows(row..<(row + 1), into: target)
    }

    /// Writes stored rows `rows` as floats, row-major, into `target`.
    func widenRows(_ rows: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        let d = dimensions
        switch storage {
        case .float32:
            target.update(
                from: vectors.assumingMemoryBound(to: Float.self) + rows.lowerBound * d, count: rows.count * d)
        case .float16:
            VectorKernels.widen(
                vectors.assumingMemoryBound(to: Float16.self) + rows.lowerBound * d, into: target, rows.count * d)
        case .int8:
            let codes = vectors.assumingMemoryBound(to: Int8.self)
            for (i, row) in rows.enumerated() {
                VectorKernels.widen(codes + row * d, scale: scales![row], into: target + i * d, d)
            }
        }
    }

    /// Scores every row against one (prepared) query: sgemv for float32, a SIMD scan
    /// over both cores otherwise; converted to negative squared L2 for ``Metric/l2``.
    func scoreAll(query q: UnsafePointer<Float>, metric: Metric, into scores: UnsafeMutablePointer<Float>) {
        let n = count, d = dimensions
        if storage == .float32 {
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, blasInt(n), blasInt(d), 1,
                vectors.assumingMemoryBound(to: Float.self), blasInt(d), q, 1, 0, scores, 1)
        } else {
            let chunks = n * d >= 1 << 20 ? max(1, CPUCores.count * 4) : 1
            let per = (n + chunks - 1) / chunks
            let view = self
            let out = SendablePointer(scores)
            let query = SendablePointer(UnsafeMutablePointer(mutating: q))
            let work: @Sendable (Int) -> Void = { chunk in
                let start = chunk * per, end = min(n, start + per)
                guard start < end else { return }
                for row in start..<end { out.pointer[row] = view.dot(query.pointer, row: row) }
            }
            if chunks > 1 { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) } else { work(0) }
        }
        if metric == .l2 {
            let qNorm = VectorKernels.dot(q, q, d)
            let norms = self.norms!
            for i in 0..<n { scores[i] = min(0, 2 * scores[i] - norms[i] - qNorm) }
        }
    }
}

/// A pointer that may cross into `concurrentPerform` workers writing disjoint ranges.
struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

enum CPUCores {
    /// Number of online cores, used to split parallel scans (at least 1).
    static let count: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Converts a Swift `Int` to the CBLAS integer type, trapping on overflow.
@inline(__always)
func blasInt(_ value: Int) -> Int32 { Int32(value) }
