@testable import SatSeekIndex
import Testing
import SatSeekRandom

/// `rows × dims` uniform values in [-1, 1).
func randomMatrix(rows: Int, dims: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<(rows * dims)).map { _ in Float.random(in: -1..<1, using: &rng) }
}

/// Naive double-precision reference: score every row, sort best first, ties by id.
func naiveSearch(
    matrix: [Float], ids: [Int64], dims: Int, metric: Metric,
    query: [Float], k: Int, excluding: Set<Int64> = []
) -> [SearchHit] {
    func norm(_ v: ArraySlice<Float>) -> Double {
        v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
    let q = query[...]
    let qNorm = norm(q)
    var hits: [SearchHit] = []
    for (row, id) in ids.enumerated() where !excluding.contains(id) {
        let x = matrix[(row * dims)..<((row + 1) * dims)]
        var score = 0.0
        switch metric {
        case .innerProduct:
            score = zip(x, q).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        case .cosine:
            let dot = zip(x, q).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let denom = norm(x) * qNorm
            score = denom > 0 ? dot / denom : 0
        case .l2:
            score = -zip(x, q).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
        }
        hits.append(SearchHit(id: id, score: Float(score)))
    }
    hits.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    return Array(hits.prefix(max(0, k)))
}

/// Checks `actual` against a reference computed with different rounding: same
/// length, scores within `tolerance`, and any id disagreement only where the
/// two scores are a near-tie.
func expectEquivalent(
    _ actual: [SearchHit], _ reference: [SearchHit], tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == reference.count, sourceLocation: sourceLocation)
    for (a, r) in zip(actual, reference) {
        #expect(
            abs(a.score - r.score) <= tolerance, "score \(a.score) vs \(r.score)",
            sourceLocation: sourceLocation)
        if a.id != r.id {
            #expect(
                abs(a.score - r.score) <= tolerance, "id \(a.id) vs \(r.id) without a near-tie",
                sourceLocation: sourceLocation)
        }
    }
    #expect(Set(actual.map(\.id)).count == actual.count, "duplicate ids", sourceLocation: sourceLocation)
}
