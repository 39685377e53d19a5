/// Bounded selection of the `k` best (score, id) pairs in O(n log k).
///
/// A binary min-heap whose root is the *worst* kept candidate: a new candidate
/// only enters when it beats the root. "Better" means a higher score, or an equal
/// score and a smaller id. NaN scores are treated as `-infinity`.
struct TopKSelector {
    let k: Int
    private var scores: [Float] = []
    private var ids: [Int64] = []

    init(k: Int, expected: Int) {
        self.k = k
        let capacity = max(0, min(k, expected))
        scores.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
    }

    /// `true` when (s1, i1) ranks strictly worse than (s2, i2).
    @inline(__always)
    private static func worse(_ s1: Float, _ i1: Int64, _ s2: Float, _ i2: Int64) -> Bool {
        s1 < s2 || (s1 == s2 && i1 > i2)
    }

    /// Number of candidates kept so far.
    var keptCount: Int { scores.count }

    /// `true` when a candidate with this score could still enter (cheap pre-check).
    @inline(__always)
    func mightAccept(_ score: Float) -> Bool {
        scores.count < k || score >= scores[0]
    }

    /// Offers one candidate.
    @inline(__always)
    mutating func offer(score raw: Float, id: Int64) {
        let score = raw.isNaN ? -Float.infinity : raw
        if scores.count < k {
            scores.append(score)
            ids.append(id)
            siftUp(scores.count - 1)
        } else if k > 0, Self.worse(scores[0], ids[0], score, id) {
            scores[0] = score
            ids[0] = id
            siftDown(0)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(scores[child], ids[child], scores[parent], ids[parent]) else { break }
            scores.swapAt(child, parent)
            ids.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        let n = scores.count
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= n { break }
            var worst = left
            let right = left + 1
            if right < n, Self.worse(scores[right], ids[right], scores[left], ids[left]) {
                worst = right
            }
            guard Self.worse(scores[worst], ids[worst], scores[parent], ids[parent]) else { break }
            scores.swapAt(worst, parent)
            ids.swapAt(worst, parent)
            parent = worst
        }
    }

    /// The kept candidates, best first (ties by smaller id).
    func sortedHits() -> [SearchHit] {
        var hits = (0..<scores.count).map { SearchHit(id: ids[$0], score: scores[$0]) }
        hits.sort { a, b in Self.worse(b.score, b.id, a.score, a.id) }
        return hits
    }
}

/// Selects the `k` best entries of `scores` (paired with `ids` by position),
/// skipping ids in `excluding`.
func selectTopK(
    scores: UnsafeBufferPointer<Float>,
    ids: UnsafeBufferPointer<Int64>,
    k: Int,
    excluding: Set<Int64>
) -> [SearchHit] {
    checkArgument(scores.count == ids.count, "scores and ids must have equal length")
    guard k > 0, !scores.isEmpty else { return [] }
    var selector = TopKSelector(k: k, expected: scores.count)
    if excluding.isEmpty {
        for i in 0..<scores.count {
            selector.offer(score: scores[i], id: ids[i])
        }
    } else {
        for i in 0..<scores.count where !excluding.contains(ids[i]) {
            selector.offer(score: scores[i], id: ids[i])
        }
    }
    return selector.sortedHits()
}

/// Selects the `k` best entries of `scores` (paired with `ids` by position),
/// keeping only ids for which `accept` returns true (`nil` accepts all).
func selectTopK(
    scores: UnsafeBufferPointer<Float>,
    ids: UnsafeBufferPointer<Int64>,
    k: Int,
    accept: ((Int64) -> Bool)?
) -> [SearchHit] {
    checkArgument(scores.count == ids.count, "scores and ids must have equal length")
    guard k > 0, !scores.isEmpty else { return [] }
    var selector = TopKSelector(k: k, expected: scores.count)
    if let accept {
        for i in 0..<scores.count where selector.mightAccept(scores[i]) && accept(ids[i]) {
            selector.offer(score: scores[i], id: ids[i])
        }
    } else {
        for i in 0..<scores.count where selector.mightAccept(scores[i]) {
            selector.offer(score: scores[i], id: ids[i])
        }
    }
    return selector.sortedHits()
}
