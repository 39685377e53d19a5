import Dispatch

/// One result of a Hamming search: the id and its Hamming distance to the query.
/// Hits sort by **ascending distance**, ties broken by the smaller id.
/// ``score`` is `-distance`, so converting with ``searchHit`` keeps the
/// "higher is better" convention of ``SearchHit``.
public struct HammingHit: Sendable, Equatable, Hashable, Codable {
    /// Identifier the code was added with.
    public let id: Int64
    /// Number of differing bits.
    public let distance: Int

    /// Creates a hit.
    public init(id: Int64, distance: Int) {
        self.id = id
        self.distance = distance
    }

    /// `-distance` (higher is better).
    public var score: Float { -Float(distance) }

    /// The hit as a ``SearchHit`` with score `-distance`.
    public var searchHit: SearchHit { SearchHit(id: id, score: score) }
}

/// Exact Hamming k-NN index over binary codes of 16–512 bits stored as `UInt64` words
/// (bit `b` of a code is bit `b % 64` of word `b / 64`; bits past ``bits`` are ignored).
///
/// ``search(_:k:allowed:)`` scans every code with XOR + popcount (unrolled for
/// 1/2/4/8 words) into a bounded heap, spread over the cores; batches walk the codes
/// in cache-sized blocks so each block serves all queries of a worker. After
/// ``buildMultiIndex(substrings:)``, ``searchMultiIndex(_:k:allowed:)`` answers the
/// same queries sub-linearly (multi-index hashing) with identical results.
public struct BinaryIndex: Sendable {
    /// Code length in bits.
    public let bits: Int
    /// `UInt64` words per code (`⌈bits / 64⌉`).
    public let wordsPerCode: Int
    var ownedIDs: [Int64] = []
    var ownedCodes: [UInt64] = []
    var mapping: BinaryMapping?
    /// Multi-index hashing tables, when built (dropped by `add`).
    public internal(set) var multiIndex: MultiIndexTables?

    /// Number of stored codes.
    public var count: Int { mapping?.count ?? ownedIDs.count }

    /// Ids in insertion order (copied out of a mapping).
    public var ids: [Int64] {
        if let mapping { return Array(UnsafeBufferPointer(start: mapping.ids, count: mapping.count)) }
        return ownedIDs
    }

    /// Creates an empty index for codes of `bits` bits (1...512).
    public init(bits: Int) {
        checkArgument(bits > 0 && bits <= 512, "BinaryIndex supports 1–512 bits, got \(bits)")
        self.bits = bits
        wordsPerCode = (bits + 63) / 64
    }

    /// Creates an index holding `codes` (`ids.count × wordsPerCode` words).
    public init(bits: Int, ids: [Int64], codes: [UInt64]) {
        self.init(bits: bits)
        add(ids: ids, codes: codes)
    }

    /// Mask of the valid bits of the last word.
    var lastWordMask: UInt64 { bits % 64 == 0 ? ~0 : (1 << UInt64(bits % 64)) - 1 }

    /// Appends codes (`ids.count × wordsPerCode` words); unused high bits are cleared.
    /// Drops the multi-index tables (rebuild them with ``buildMultiIndex(substrings:)``).
    public mutating func add(ids newIDs: [Int64], codes: [UInt64]) {
        checkArgument(
            codes.count == newIDs.count * wordsPerCode,
            "add: expected \(newIDs.count) × \(wordsPerCode) words, got \(codes.count)")
        guard !newIDs.isEmpty else { return }
        if let m = mapping {
            ownedIDs = Array(UnsafeBufferPointer(start: m.ids, count: m.count))
            ownedCodes = Array(UnsafeBufferPointer(start: m.codes, count: m.count * wordsPerCode))
            mapping = nil
        }
        multiIndex = nil
        let first = ownedCodes.count
        ownedIDs.append(contentsOf: newIDs)
        ownedCodes.append(contentsOf: codes)
        let w = wordsPerCode, mask = lastWordMask
        for row in 0..<newIDs.count { ownedCodes[first + row * w + w - 1] &= mask }
    }

    /// Raw views of ids and codes (owned or mapped), valid inside `body` only.
    func withView<R>(_ body: (BinaryView) -> R) -> R {
        if let m = mapping { return body(BinaryView(count: m.count, words: wordsPerCode, ids: m.ids, codes: m.codes)) }
        return ownedIDs.withUnsafeBufferPointer { idb in
            ownedCodes.withUnsafeBufferPointer { cb in
                body(
                    BinaryView(
                        count: idb.count, words: wordsPerCode,
                        ids: idb.baseAddress ?? FlatView.emptyIDs,
                        codes: cb.baseAddress
                            ?? UnsafeRawPointer(FlatView.emptyIDs).assumingMemoryBound(to: UInt64.self)))
            }
        }
    }

    /// The query with unused high bits cleared.
    func preparedQuery(_ query: ArraySlice<UInt64>) -> [UInt64] {
        checkArgument(query.count == wordsPerCode, "query has \(query.count) words, index codes have \(wordsPerCode)")
        var q = Array(query)
        q[wordsPerCode - 1] &= lastWordMask
        return q
    }

    /// The `k` nearest codes to `query` (``wordsPerCode`` words) by exhaustive scan,
    /// restricted to `allowed` ids when given.
    public func search(_ query: [UInt64], k: Int, allowed: Set<Int64>? = nil) -> [HammingHit] {
        let q = preparedQuery(query[...])
        guard k > 0, count > 0 else { return [] }
        let accept = membershipFilter(allowed)
        return withView { view in
            q.withUnsafeBufferPointer { qb in
                let parts = view.count >= 1 << 16 ? CPUCores.count : 1
                let per = (view.count + parts - 1) / parts
                var heaps = (0..<parts).map { _ in HammingHeap(k: k) }  // own storage each: workers fill them at once
                let query = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!))
                heaps.withUnsafeMutableBufferPointer { hb in
                    let out = SendablePointer(hb.baseAddress!)
                    let work: @Sendable (Int) -> Void = { part in
                        let range = (part * per)..<min(view.count, (part + 1) * per)
                        guard !range.isEmpty else { return }
                        view.scan(query: query.pointer, rows: range, heap: &out.pointer[part], accept: accept)
                    }
                    if parts > 1 { DispatchQueue.concurrentPerform(iterations: parts, execute: work) } else { work(0) }
                }
                var merged = heaps[0]
                for heap in heaps.dropFirst() { merged.merge(heap) }
                return merged.sortedHits()
            }
        }
    }

    /// Exhaustive search for each of `queries.count / wordsPerCode` row-major queries.
    /// Workers take interleaved queries and walk the codes in blocks of 16 384.
    public func search(batch queries: [UInt64], k: Int, allowed: Set<Int64>? = nil) -> [[HammingHit]] {
        checkArgument(queries.count % wordsPerCode == 0, "search(batch:): not a whole number of codes")
        let queryCount = queries.count / wordsPerCode
        guard queryCount > 0 else { return [] }
        guard k > 0, count > 0 else { return Array(repeating: [], count: queryCount) }
        if queryCount < CPUCores.count {
            return (0..<queryCount).map {
                search(Array(queries[($0 * wordsPerCode)..<(($0 + 1) * wordsPerCode)]), k: k, allowed: allowed)
            }
        }
        var q = queries
        let w = wordsPerCode, mask = lastWordMask
        for row in 0..<queryCount { q[row * w + w - 1] &= mask }
        let accept = membershipFilter(allowed)
        var heaps = (0..<queryCount).map { _ in HammingHeap(k: k) }  // own storage each: workers fill them at once
        let workers = min(queryCount, CPUCores.count)
        withView { view in
            q.withUnsafeBufferPointer { qb in
                heaps.withUnsafeMutableBufferPointer { hb in
                    let out = SendablePointer(hb.baseAddress!)
                    let qs = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!))
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let block = 16_384
                        var start = 0
                        while start < view.count {
                            let rows = start..<min(view.count, start + block)
                            var query = worker
                            while query < queryCount {
                                view.scan(
                                    query: qs.pointer + query * w, rows: rows, heap: &out.pointer[query], accept: accept
                                )
                                query += workers
                            }
                            start += block
                        }
                    }
                }
            }
        }
        return heaps.map { $0.sortedHits() }
    }
}

/// Where a mapped binary index's sections live.
struct BinaryMapping: @unchecked Sendable {
    let file: MappedIndexFile
    let count: Int
    let ids: UnsafePointer<Int64>
    let codes: UnsafePointer<UInt64>
}

/// Raw pointers to ids and codes; valid only inside ``BinaryIndex/withView(_:)``.
struct BinaryView: @unchecked Sendable {
    let count: Int
    let words: Int
    let ids: UnsafePointer<Int64>
    let codes: UnsafePointer<UInt64>

    /// Scans `rows`, offering each code's distance to `heap`.
    @inline(__always)
    func scan(
        query: UnsafePointer<UInt64>, rows: Range<Int>, heap: inout HammingHeap,
        accept: (@Sendable (Int64) -> Bool)?
    ) {
        switch words {
        case 1: scan(query: query, rows: rows, words: 1, heap: &heap, accept: accept)
        case 2: scan(query: query, rows: rows, words: 2, heap: &heap, accept: accept)
        case 4: scan(query: query, rows: rows, words: 4, heap: &heap, accept: accept)
        case 8: scan(query: query, rows: rows, words: 8, heap: &heap, accept: accept)
        default: scan(query: query, rows: rows, words: words, heap: &heap, accept: accept)
        }
    }

    /// The scan loop; inlined with a constant `w` so the word loop unrolls.
    @inline(__always)
    private func scan(
        query: UnsafePointer<UInt64>, rows: Range<Int>, words w: Int, heap: inout HammingHeap,
        accept: (@Sendable (Int64) -> Bool)?
    ) {
        var row = rows.lowerBound
        var code = codes + row * w
        var worst = heap.worstDistance
        while row < rows.upperBound {
            var d = 0
            for i in 0..<w { d &+= (code[i] ^ query[i]).nonzeroBitCount }
            if d <= worst {
                let id = ids[row]
                if accept == nil || accept!(id) {
                    heap.offer(distance: d, id: id)
                    worst = heap.worstDistance
                }
            }
            row += 1
            code += w
        }
    }
}

/// Bounded max-heap of the `k` best (distance, id) pairs; root is the worst kept.
public struct HammingHeap: Sendable {
    let k: Int
    private var distances: [Int32] = []
    private var ids: [Int64] = []

    init(k: Int) {
        self.k = k
        distances.reserveCapacity(k)
        ids.reserveCapacity(k)
    }

    /// Distance a candidate must not exceed to be considered (`Int.max` until full).
    @inline(__always)
    var worstDistance: Int { distances.count < k ? Int.max : Int(distances[0]) }

    /// Number kept.
    var keptCount: Int { distances.count }

    @inline(__always)
    private static func worse(_ d1: Int32, _ i1: Int64, _ d2: Int32, _ i2: Int64) -> Bool {
        d1 > d2 || (d1 == d2 && i1 > i2)
    }

    /// Offers a candidate.
    @inline(__always)
    mutating func offer(distance: Int, id: Int64) {
        let d = Int32(distance)
        if distances.count < k {
            distances.append(d)
            ids.append(id)
            var child = distances.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.worse(distances[child], ids[child], distances[parent], ids[parent]) else { break }
                distances.swapAt(child, parent)
                ids.swapAt(child, parent)
                child = parent
            }
        } else if k > 0, Self.worse(distances[0], ids[0], d, id) {
            distances[0] = d
            ids[0] = id
            var parent = 0
            let n = distances.count
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var worst = left
                if left + 1 < n, Self.worse(distances[left + 1], ids[left + 1], distances[left], ids[left]) {
                    worst = left + 1
                }
                guard Self.worse(distances[worst], ids[worst], distances[parent], ids[parent]) else { break }
                distances.swapAt(worst, parent)
                ids.swapAt(worst, parent)
                parent = worst
            }
        }
    }

    /// Offers every entry of another heap.
    mutating func merge(_ other: HammingHeap) {
        for i in 0..<other.distances.count { offer(distance: Int(other.distances[i]), id: other.ids[i]) }
    }

    /// Kept hits, nearest first (ties by smaller id).
    func sortedHits() -> [HammingHit] {
        (0..<distances.count).map { HammingHit(id: ids[$0], distance: Int(distances[$0])) }
            .sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
    }
}

/// A filter accepting the ids in `allowed` (`nil` when there is no restriction).
func membershipFilter(_ allowed: Set<Int64>?) -> (@Sendable (Int64) -> Bool)? {
    guard let allowed else { return nil }
    return { allowed.contains($0) }
}
