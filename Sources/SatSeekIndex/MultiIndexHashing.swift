import Dispatch

/// Multi-index hashing tables (Norouzi, Punjani & Fleet, "Fast Exact Search in
/// Hamming Space with Multi-Index Hashing", 2014) over a ``BinaryIndex``.
///
/// Each code is cut into `m` disjoint substrings of ⌊bits/m⌋ or ⌈bits/m⌉ bits and
/// each substring is indexed in its own table (substring value → rows). By the
/// pigeonhole principle a code within distance `r` of the query matches some
/// substring within ⌊r/m⌋ bits. The search probes tables in rounds (radius ρ, table
/// j); after round (ρ, j) every code not yet seen is at distance ≥ ρ·m + j + 1, so it
/// stops as soon as the k-th best distance is below that bound — the result is
/// exactly the exhaustive k-NN (same ties by smaller id). A code is counted only in
/// the first round that reaches it, which is decided from its substring distances,
/// so no visited set is needed. When the probes needed would outnumber the stored
/// codes (far queries, long substrings), the search switches to the exhaustive scan,
/// which returns the same result.
public struct MultiIndexTables: Sendable {
    /// Number of substrings (tables).
    public let substringCount: Int
    /// First bit and length of each substring.
    let ranges: [(start: Int, length: Int)]
    let tables: [SubstringTable]

    /// Builds tables for `view`'s codes; `m` defaults to `round(bits / log2(count))`
    /// (substrings of about log2(n) bits, as the paper recommends), at most 32 bits each.
    init(view: BinaryView, bits: Int, substrings m: Int?) {
        let log2n = log2(Double(max(2, view.count)))
        var count = m ?? Int((Double(bits) / log2n).rounded())
        count = max(count, (bits + 31) / 32, 1)
        count = min(count, bits)
        substringCount = count
        var ranges: [(Int, Int)] = []
        var start = 0
        for j in 0..<count {
            let length = bits / count + (j < bits % count ? 1 : 0)
            ranges.append((start, length))
            start += length
        }
        self.ranges = ranges
        var tables: [SubstringTable] = Array(repeating: SubstringTable(), count: count)
        tables.withUnsafeMutableBufferPointer { tb in
            let out = SendablePointer(tb.baseAddress!)
            let rangesCopy = ranges
            DispatchQueue.concurrentPerform(iterations: count) { j in
                out.pointer[j] = SubstringTable(view: view, start: rangesCopy[j].0, length: rangesCopy[j].1)
            }
        }
        self.tables = tables
    }

    /// Bytes held by the tables.
    public var memoryBytes: Int { tables.reduce(0) { $0 + $1.memoryBytes } }
}

/// Bits `start ..< start + length` (length ≤ 32) of a code.
@inline(__always)
func substring(_ code: UnsafePointer<UInt64>, start: Int, length: Int) -> UInt64 {
    let word = start >> 6, shift = start & 63
    var value = code[word] >> UInt64(shift)
    if shift + length > 64 { value |= code[word + 1] << UInt64(64 - shift) }
    return length == 64 ? value : value & ((1 << UInt64(length)) - 1)
}

/// One substring table in compressed-row form: rows sharing a substring value are
/// contiguous in `rows`; `offsets` is indexed directly by value (≤ 22 bits) or by
/// the position of the value in sorted `keys` (longer substrings).
struct SubstringTable: Sendable {
    var keys: [UInt64] = []
    var offsets: [UInt32] = []
    var rows: [UInt32] = []
    var direct = true

    init() {}

    init(view: BinaryView, start: Int, length: Int) {
        let n = view.count
        var values = [UInt64](repeating: 0, count: n)
        for row in 0..<n { values[row] = substring(view.codes + row * view.words, start: start, length: length) }
        if length <= 22 {
            direct = true
            var counts = [UInt32](repeating: 0, count: (1 << length) + 1)
            for v in values { counts[Int(v) + 1] += 1 }
            for i in 1..<counts.count { counts[i] += counts[i - 1] }
            offsets = counts
            var cursor = counts
            rows = [UInt32](repeating: 0, count: n)
            for row in 0..<n {
                let v = Int(values[row])
                rows[Int(cursor[v])] = UInt32(row)
                cursor[v] += 1
            }
        } else {
            direct = false
            let order = (0..<n).sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
            rows = order.map { UInt32($0) }
            for (position, row) in order.enumerated() where keys.last != values[row] {
                keys.append(values[row])
                offsets.append(UInt32(position))
            }
            offsets.append(UInt32(n))
        }
    }

    /// Rows whose substring equals `value` (as a range into `rows`).
    @inline(__always)
    func bucket(_ value: UInt64) -> Range<Int> {
        if direct { return Int(offsets[Int(value)])..<Int(offsets[Int(value) + 1]) }
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < value { low = mid + 1 } else { high = mid }
        }
        guard low < keys.count, keys[low] == value else { return 0..<0 }
        return Int(offsets[low])..<Int(offsets[low + 1])
    }

    var memoryBytes: Int { keys.count * 8 + offsets.count * 4 + rows.count * 4 }
}

extension BinaryIndex {
    /// Builds the multi-index hashing tables with `substrings` tables (default
    /// `round(bits / log2(count))`); needed by ``searchMultiIndex(_:k:allowed:)``.
    public mutating func buildMultiIndex(substrings: Int? = nil) {
        let bits = self.bits
        multiIndex = withView { MultiIndexTables(view: $0, bits: bits, substrings: substrings) }
    }

    /// Exact k-NN by multi-index hashing; equal to ``search(_:k:allowed:)``.
    /// Falls back to the exhaustive scan when the tables were not built.
    public func searchMultiIndex(_ query: [UInt64], k: Int, allowed: Set<Int64>? = nil) -> [HammingHit] {
        guard let tables = multiIndex else { return search(query, k: k, allowed: allowed) }
        let q = preparedQuery(query[...])
        guard k > 0, count > 0 else { return [] }
        return withView { view in
            q.withUnsafeBufferPointer { qb in
                Self.multiIndexSearch(view: view, tables: tables, query: qb.baseAddress!, k: k, allowed: allowed)
            }
        }
    }

    /// ``searchMultiIndex(_:k:allowed:)`` for each row-major query, spread over the cores.
    public func searchMultiIndex(batch queries: [UInt64], k: Int, allowed: Set<Int64>? = nil) -> [[HammingHit]] {
        let w = wordsPerCode
        checkArgument(queries.count % w == 0, "searchMultiIndex(batch:): not a whole number of codes")
        let queryCount = queries.count / w
        var results = [[HammingHit]](repeating: [], count: queryCount)
        let index = self
        results.withUnsafeMutableBufferPointer { rb in
            let out = SendablePointer(rb.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: queryCount) { i in
                out.pointer[i] = index.searchMultiIndex(Array(queries[(i * w)..<((i + 1) * w)]), k: k, allowed: allowed)
            }
        }
        return results
    }

    static func multiIndexSearch(
        view: BinaryView, tables: MultiIndexTables, query: UnsafePointer<UInt64>,
        k: Int, allowed: Set<Int64>?
    ) -> [HammingHit] {
        let m = tables.substringCount
        let ranges = tables.ranges
        let querySubs = ranges.map { substring(query, start: $0.start, length: $0.length) }
        var heap = HammingHeap(k: k)
        let maxLength = ranges.map(\.length).max()!
        // Far queries need C(length, radius) probes per table; once the probes would
        // outnumber the codes, a linear scan is cheaper and gives the same answer.
        var probeBudget = Double(max(view.count, 4_096))
        for radius in 0...maxLength {
            for j in 0..<m {
                let length = ranges[j].length
                if radius <= length {
                    probeBudget -= binomial(length, radius)
                    if probeBudget < 0 {
                        var scan = HammingHeap(k: k)
                        view.scan(query: query, rows: 0..<view.count, heap: &scan, accept: membershipFilter(allowed))
                        return scan.sortedHits()
                    }
                    // Every value at exactly `radius` bits from the query substring (Gosper's hack).
                    var flips: UInt64 = radius == 0 ? 0 : (1 << UInt64(radius)) - 1
                    let limit: UInt64 = 1 << UInt64(length)
                    while flips < limit {
                        let bucket = tables.tables[j].bucket(querySubs[j] ^ flips)
                        for position in bucket {
                            let row = Int(tables.tables[j].rows[position])
                            let code = view.codes + row * view.words
                            // Skip codes already reached in an earlier round.
                            var seen = false
                            var total = radius
                            for other in 0..<m where other != j {
                                let d =
                                    (substring(code, start: ranges[other].start, length: ranges[other].length)
                                    ^ querySubs[other]).nonzeroBitCount
                                if (other < j && d <= radius) || (other > j && d < radius) { seen = true; break }
                                total += d
                            }
                            if seen || total > heap.worstDistance { continue }
                            let id = view.ids[row]
                            if let allowed, !allowed.contains(id) { continue }
                            heap.offer(distance: total, id: id)
                        }
                        if radius == 0 { break }
                        let lowest = flips & (~flips &+ 1)
                        let ripple = flips &+ lowest
                        flips = (((ripple ^ flips) >> 2) / lowest) | ripple
                    }
                }
                // Unseen codes are now at distance ≥ radius·m + j + 1, or none is left.
                let exhausted = ranges[0...j].contains { $0.length <= radius }
                if exhausted { return heap.sortedHits() }
                if heap.keptCount == k, heap.worstDistance < radius * m + j + 1 { return heap.sortedHits() }
            }
        }
        return heap.sortedHits()
    }
}

/// `C(n, r)` as a double (probe counts; exact enough for budgeting).
func binomial(_ n: Int, _ r: Int) -> Double {
    guard r >= 0, r <= n else { return 0 }
    var result = 1.0
    for i in 0..<min(r, n - r) { result = result * Double(n - i) / Double(i + 1) }
    return result
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
