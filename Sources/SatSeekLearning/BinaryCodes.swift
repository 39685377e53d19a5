import SatSeekIndex
import SatSeekTensor

/// Binary hash codes packed into `UInt64` words: bit `j` of a code is 1 when activation `j` is positive
/// (word `j / 64`, bit `j % 64`). Unused high bits of the last word are 0.
public struct BinaryCodes: Sendable, Equatable {
    /// Code length in bits.
    public let bits: Int
    /// `⌈bits / 64⌉`.
    public let wordsPerCode: Int
    /// `count × wordsPerCode` words, code after code.
    public private(set) var words: [UInt64]

    /// Number of codes.
    public var count: Int { wordsPerCode > 0 ? words.count / wordsPerCode : 0 }

    /// Packs the signs of `activations` (`count × bits` floats, row-major).
    public init(signsOf activations: [Float], bits: Int) {
        precondition(bits > 0 && activations.count % bits == 0, "activations must be a multiple of \(bits) floats")
        self.bits = bits
        wordsPerCode = (bits + 63) / 64
        let count = activations.count / bits
        var words = [UInt64](repeating: 0, count: count * wordsPerCode)
        for row in 0..<count {
            for j in 0..<bits where activations[row * bits + j] > 0 {
                words[row * wordsPerCode + j / 64] |= 1 << UInt64(j % 64)
            }
        }
        self.words = words
    }

    /// Code `index`'s words.
    public func code(_ index: Int) -> ArraySlice<UInt64> {
        words[(index * wordsPerCode)..<((index + 1) * wordsPerCode)]
    }

    /// Hamming distance between two codes of equal length (popcount of the XOR).
    @inlinable
    /// Hamming distance between two codes of equal length (popcount of the XOR).
    public static func hammingDistance(_ a: ArraySlice<UInt64>, _ b: ArraySlice<UInt64>) -> Int {
        zip(a, b).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
    }
}

/// Exhaustive Hamming search over binary codes (XOR + popcount per stored code, then a counting selection
/// of the k nearest), optionally re-ranked by the cosine of the float activations the codes came from.
///
/// Hits are `SearchHit`s whose score is the fraction of agreeing bits, `1 − distance/bits` (higher is
/// better), or the cosine similarity when re-ranked; ties are broken by the smaller id.
public struct HammingIndex: Sendable {
    /// Ids in insertion order; code `i` belongs to `ids[i]`.
    public let ids: [Int64]
    /// The packed codes.
    public let codes: BinaryCodes
    /// Row-normalised float activations for re-ranking (empty when not kept).
    let floats: [Float]

    /// Number of stored codes.
    public var count: Int { ids.count }
    /// Code length in bits.
    public var bits: Int { codes.bits }
    /// Whether ``search(activations:k:excluding:rerankDepth:)`` can re-rank by float distance.
    public var canRerank: Bool { !floats.isEmpty }

    /// Indexes head activations (`ids.count × bits`); `keepFloats` keeps them for re-ranking.
    public init(ids: [Int64], activations: [Float], bits: Int, keepFloats: Bool = false) {
        precondition(activations.count == ids.count * bits, "need \(ids.count) × \(bits) activations")
        self.ids = ids
        codes = BinaryCodes(signsOf: activations, bits: bits)
        var floats = keepFloats ? activations : []
        floats.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<(keepFloats ? ids.count : 0) {
                l2Normalize(UnsafeMutableBufferPointer(rebasing: buffer[(row * bits)..<((row + 1) * bits)]))
            }
        }
        self.floats = floats
    }

    /// Hamming distance from `query` (one code's words) to every stored code.
    public func distances(to query: ArraySlice<UInt64>) -> [Int] {
        precondition(
            query.count == codes.wordsPerCode, "query has \(query.count) words, codes have \(codes.wordsPerCode)")
        var result = [Int](repeating: 0, count: count)
        codes.words.withUnsafeBufferPointer { words in
            if codes.wordsPerCode == 1 {
                let q = query[query.startIndex]
                for i in 0..<count { result[i] = (words[i] ^ q).nonzeroBitCount }
            } else {
                let w = codes.wordsPerCode
                for i in 0..<count {
                    var d = 0
                    for (j, q) in query.enumerated() { d += (words[i * w + j] ^ q).nonzeroBitCount }
                    result[i] = d
                }
            }
        }
        return result
    }

    /// Positions of the `k` nearest codes, nearest first, ties by smaller id.
    func nearest(_ query: ArraySlice<UInt64>, k: Int, excluding: Set<Int64>) -> [(position: Int, distance: Int)] {
        guard k > 0, count > 0 else { return [] }
        var distance = distances(to: query)
        let excludedMark = bits + 1
        if !excluding.isEmpty {
            for i in 0..<count where excluding.contains(ids[i]) { distance[i] = excludedMark }
        }
        // Counting selection: the smallest threshold t with at least k candidates at distance ≤ t.
        var histogram = [Int](repeating: 0, count: bits + 2)
        for d in distance { histogram[d] += 1 }
        var threshold = 0
        var covered = histogram[0]
        while covered < k, threshold < bits {
            threshold += 1
            covered += histogram[threshold]
        }
        var chosen: [(position: Int, distance: Int)] = []
        chosen.reserveCapacity(covered)
        for i in 0..<count where distance[i] <= threshold { chosen.append((i, distance[i])) }
        chosen.sort { $0.distance != $1.distance ? $0.distance < $1.distance : ids[$0.position] < ids[$1.position] }
        return Array(chosen.prefix(k))
    }

    /// The `k` nearest stored codes to a packed query code.
    public func search(code query: ArraySlice<UInt64>, k: Int, excluding: Set<Int64> = []) -> [SearchHit] {
        nearest(query, k: k, excluding: excluding).map {
            SearchHit(id: ids[$0.position], score: 1 - Float($0.distance) / Float(bits))
        }
    }

    /// The `k` nearest codes to the sign of `activations` (one query, `bits` floats). With `rerankDepth`
    /// (≥ k) and kept floats, the `rerankDepth` nearest by Hamming distance are re-ordered by cosine.
    public func search(activations: [Float], k: Int, excluding: Set<Int64> = [], rerankDepth: Int? = nil) -> [SearchHit]
    {
        precondition(activations.count == bits, "query needs \(bits) activations")
        let query = BinaryCodes(signsOf: activations, bits: bits).code(0)
        guard let depth = rerankDepth, canRerank else { return search(code: query, k: k, excluding: excluding) }
        let candidates = nearest(query, k: max(k, depth), excluding: excluding)
        var q = activations
        q.withUnsafeMutableBufferPointer { l2Normalize($0) }
        var hits = candidates.map { candidate -> SearchHit in
            var dot: Float = 0
            let base = candidate.position * bits
            for j in 0..<bits { dot += q[j] * floats[base + j] }
            return SearchHit(id: ids[candidate.position], score: dot)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Array(hits.prefix(k))
    }

    /// One Hamming search per query row (`activations.count / bits` queries), spread over the cores.
    /// `excluding`, when given, holds one set per query.
    public func search(batch activations: [Float], k: Int, excluding: [Set<Int64>]? = nil) -> [[SearchHit]] {
        let queries = BinaryCodes(signsOf: activations, bits: bits)
        precondition(excluding == nil || excluding!.count == queries.count, "one exclusion set per query")
        var results = [[SearchHit]](repeating: [], count: queries.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let box = UncheckedSendableBox(buffer)
            parallelChunks(queries.count, threads: defaultThreadCount) { range in
                for q in range {
                    box.value[q] = search(code: queries.code(q), k: k, excluding: excluding?[q] ?? [])
                }
            }
        }
        return results
    }
}
