@testable import SatSeekIndex
import Foundation
import SatSeekRandom

/// `rows × dims` vectors around `clusters` random centres (Gaussian-ish noise of `spread`).
func clusteredMatrix(rows: Int, dims: Int, clusters: Int, spread: Float = 0.35, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    let centres = (0..<(clusters * dims)).map { _ in Float.random(in: -1..<1, using: &rng) }
    var out = [Float](repeating: 0, count: rows * dims)
    for r in 0..<rows {
        let c = Int.random(in: 0..<clusters, using: &rng)
        for d in 0..<dims {
            // Sum of three uniforms: a cheap bell-shaped noise.
            let noise =
                (Float.random(in: -1..<1, using: &rng) + Float.random(in: -1..<1, using: &rng)
                    + Float.random(in: -1..<1, using: &rng)) / 3
            out[r * dims + d] = centres[c * dims + d] + spread * noise
        }
    }
    return out
}

/// Row `i` of a row-major matrix.
func row(_ matrix: [Float], _ i: Int, _ dims: Int) -> [Float] { Array(matrix[(i * dims)..<((i + 1) * dims)]) }

/// Fraction of `truth` ids found in `found` (recall@k).
func recall(_ found: [SearchHit], _ truth: [SearchHit]) -> Double {
    guard !truth.isEmpty else { return 1 }
    let ids = Set(found.map(\.id))
    return Double(truth.filter { ids.contains($0.id) }.count) / Double(truth.count)
}

/// A fresh temporary folder.
func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "satseek-index-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Uniform random codes of `words` words each.
func randomCodes(count: Int, words: Int, seed: UInt64) -> [UInt64] {
    var rng = SplitMix64(seed: seed)
    return (0..<(count * words)).map { _ in rng.next() }
}

/// Codes clustered around a few centres (each bit flipped with probability `flip`).
func clusteredCodes(count: Int, bits: Int, centres: Int, flip: Double, seed: UInt64) -> [UInt64] {
    var rng = SplitMix64(seed: seed)
    let words = (bits + 63) / 64
    let centreCodes = (0..<(centres * words)).map { _ in rng.next() }
    var out = [UInt64](repeating: 0, count: count * words)
    for i in 0..<count {
        let c = Int.random(in: 0..<centres, using: &rng)
        for w in 0..<words {
            var mask: UInt64 = 0
            for b in 0..<64 where Double.random(in: 0..<1, using: &rng) < flip { mask |= 1 << UInt64(b) }
            out[i * words + w] = centreCodes[c * words + w] ^ mask
        }
    }
    return out
}
