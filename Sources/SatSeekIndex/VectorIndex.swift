/// Similarity measure used by a ``VectorIndex``.
///
/// Every metric is reported as a *score* where **higher is better**, so hits from
/// any metric sort the same way:
/// - ``cosine``: inner product of L2-normalised vectors, in `[-1, 1]` (up to rounding).
/// - ``innerProduct``: raw inner product of the stored and query vectors.
/// - ``l2``: the **negative squared** Euclidean distance, in `(-∞, 0]`
///   (`0` is an exact match).
public enum Metric: String, Sendable, Codable, CaseIterable {
    /// Cosine similarity (vectors are L2-normalised on add and on query).
    case cosine
    /// Raw inner (dot) product.
    case innerProduct
    /// Squared Euclidean distance, reported negated so that higher is better.
    case l2
}

extension Metric {
    /// `rows` (row-major, `dimensions` floats each) as this metric compares them: for cosine a copy with
    /// every row L2-normalised (vectors on add, queries on search), otherwise unchanged.
    func prepared(_ rows: [Float], dimensions: Int) -> [Float] {
        guard self == .cosine else { return rows }
        var copy = rows
        copy.withUnsafeMutableBufferPointer { b in
            for row in 0..<(b.count / dimensions) {
                VectorKernels.normalise(b.baseAddress! + row * dimensions, dimensions)
            }
        }
        return copy
    }
}

/// One result of a nearest-neighbour search.
public struct SearchHit: Sendable, Equatable, Codable, Hashable {
    /// Identifier the vector was added with.
    public let id: Int64
    /// Similarity score; higher is better for every ``Metric``.
    public let score: Float

    /// Creates a hit.
    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// A searchable collection of fixed-dimension float vectors keyed by `Int64` ids.
///
/// Results are always sorted best first (highest score), ties broken by the
/// smaller id so that searches are deterministic.
public protocol VectorIndex: Sendable {
    /// Length of every stored vector.
    var dimensions: Int { get }
    /// Number of stored vectors.
    var count: Int { get }
    /// The `k` best hits for one query of length ``dimensions``, skipping any id
    /// in `excluding` (e.g. the query itself in leave-one-out evaluation).
    /// Returns `min(k, count - excluded)` hits; `k <= 0` returns none.
    func search(_ query: [Float], k: Int, excluding: Set<Int64>) -> [SearchHit]
    /// The `k` best hits for each of `queries.count / dimensions` row-major
    /// queries; element `i` equals `search(query i, k: k, excluding: [])`.
    func search(batch queries: [Float], k: Int) -> [[SearchHit]]
}

extension VectorIndex {
    /// The `k` best hits for one query, excluding nothing.
    public func search(_ query: [Float], k: Int) -> [SearchHit] {
        search(query, k: k, excluding: [])
    }
}
