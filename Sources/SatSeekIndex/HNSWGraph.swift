import CMemoryHints
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A graph node and its distance to the current query (smaller is closer).
struct Neighbor {
    var distance: Float
    var node: UInt32
}

/// Binary heap of ``Neighbor``s; `minFirst` picks a min-heap (closest on top) or a
/// max-heap (farthest on top). Storage is kept between searches.
struct NeighborHeap {
    var items: [Neighbor] = []
    let minFirst: Bool

    init(minFirst: Bool, capacity: Int = 64) {
        self.minFirst = minFirst
        items.reserveCapacity(capacity)
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: Neighbor { items[0] }

    @inline(__always)
    private func before(_ a: Neighbor, _ b: Neighbor) -> Bool {
        minFirst ? a.distance < b.distance : a.distance > b.distance
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    @inline(__always)
    mutating func push(_ item: Neighbor) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            guard before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> Neighbor {
        let first = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            let n = items.count
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var best = left
                if left + 1 < n, before(items[left + 1], items[left]) { best = left + 1 }
                guard before(items[best], items[parent]) else { break }
                items.swapAt(best, parent)
                parent = best
            }
        }
        return first
    }
}

/// Per-thread search state: a visited table stamped with a generation counter
/// (no clearing between searches), the two heaps and a float buffer.
final class HNSWScratch {
    var visited: [UInt32] = []
    var generation: UInt32 = 0
    var candidates = NeighborHeap(minFirst: true)
    var results = NeighborHeap(minFirst: false)
    var buffer: [Float] = []
    var buffer2: [Float] = []
    /// Unvisited neighbours of the node being expanded and their distances (one link list's worth), and a
    /// copy of a link list taken under its lock while other threads insert.
    private(set) var pending = UnsafeMutablePointer<UInt32>.allocate(capacity: 0)
    private(set) var pendingDistances = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var linkCopy = UnsafeMutablePointer<UInt32>.allocate(capacity: 0)
    private var pendingCapacity = 0

    deinit {
        pending.deallocate()
        pendingDistances.deallocate()
        linkCopy.deallocate()
    }

    /// Makes ``pending``, ``pendingDistances`` and ``linkCopy`` hold at least `count` entries.
    func reservePending(_ count: Int) {
        guard count > pendingCapacity else { return }
        pending.deallocate()
        pendingDistances.deallocate()
        linkCopy.deallocate()
        pending = .allocate(capacity: count)
        pendingDistances = .allocate(capacity: count)
        linkCopy = .allocate(capacity: count)
        pendingCapacity = count
    }

    /// Starts a new search over `nodes` nodes.
    func reset(nodes: Int, dimensions: Int) {
        if visited.count < nodes {
            visited = [UInt32](repeating: 0, count: max(nodes, visited.count * 2))
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            for i in visited.indices { visited[i] = 0 }
            generation = 1
        }
        if buffer.count < dimensions { buffer = [Float](repeating: 0, count: dimensions) }
        if buffer2.count < dimensions { buffer2 = [Float](repeating: 0, count: dimensions) }
        candidates.removeAll()
        results.removeAll()
    }
}

/// A small lock-protected pool of scratches shared by searches on one index.
final class HNSWScratchPool: @unchecked Sendable {
    private var free: [HNSWScratch] = []
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(lock, nil) }
    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    func take() -> HNSWScratch {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return free.popLast() ?? HNSWScratch()
    }

    func give(_ scratch: HNSWScratch) {
        pthread_mutex_lock(lock)
        if free.count < 2 * CPUCores.count { free.append(scratch) }
        pthread_mutex_unlock(lock)
    }
}

/// Raw pointers to an HNSW graph's arrays, valid while the owning index pins them.
/// Distances: `−dot` for cosine / inner product, squared Euclidean for L2.
struct HNSWGraphView: @unchecked Sendable {
    let count: Int
    let dimensions: Int
    let isL2: Bool
    let float32: UnsafePointer<Float>?
    let float16: UnsafePointer<Float16>?
    /// `count × (maxLinks0 + 1)`: slot 0 holds the number of links.
    let level0: UnsafeMutablePointer<UInt32>
    let maxLinks0: Int
    /// Blocks of `maxLinks + 1` for levels ≥ 1.
    let upper: UnsafeMutablePointer<UInt32>
    let upperOffsets: UnsafePointer<Int32>
    let maxLinks: Int
    let levels: UnsafePointer<UInt8>

    /// The link list of `node` at `level` (slot 0 is the count).
    @inline(__always)
    func links(_ node: Int, _ level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return level0 + node * (maxLinks0 + 1) }
        return upper + Int(upperOffsets[node]) + (level - 1) * (maxLinks + 1)
    }

    /// Distance from a float32 query to a stored node.
    @inline(__always)
    func distance(_ q: UnsafePointer<Float>, _ node: Int) -> Float {
        if let rows = float32 {
            let row = rows + node * dimensions
            return isL2 ? VectorKernels.squaredDistance(q, row, dimensions) : -VectorKernels.dot(q, row, dimensions)
        }
        let row = float16! + node * dimensions
        return isL2
            ? VectorKernels.squaredDistance(q, half: row, dimensions) : -VectorKernels.dot(q, half: row, dimensions)
    }

    /// Distances from a float32 query to four nodes (inner-product metrics only).
    @inline(__always)
    func negativeDots4(_ q: UnsafePointer<Float>, _ a: Int, _ b: Int, _ c: Int, _ d: Int) -> SIMD4<Float> {
        let half = float32 == nil
        let base = half ? UnsafeRawPointer(float16!) : UnsafeRawPointer(float32!)
        let stride = dimensions * (half ? 2 : 4)
        return -VectorKernels.dot4(
            q, base + a * stride, base + b * stride, base + c * stride, base + d * stride,
            half: half, dimensions)
    }

    /// A float32 pointer to `node`'s vector (widened into `buffer` for float16 storage).
    @inline(__always)
    func vector(_ node: Int, buffer: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if let rows = float32 { return rows + node * dimensions }
        VectorKernels.widen(float16! + node * dimensions, into: buffer, dimensions)
        return UnsafePointer(buffer)
    }

    /// The link list of `node` at `level` to read: the list itself, or with `locks` (other threads inserting)
    /// a copy taken under the node's lock into `scratch.linkCopy`.
    @inline(__always)
    func readableLinks(_ node: Int, _ level: Int, locks: HNSWBuildLocks?, scratch: HNSWScratch) -> UnsafePointer<UInt32>
    {
        let list = links(node, level)
        guard let locks else { return UnsafePointer(list) }
        scratch.reservePending(max(maxLinks0, maxLinks) + 1)
        let copy = scratch.linkCopy
        locks.lock(node: node)
        copy.update(from: list, count: Int(list[0]) + 1)
        locks.unlock(node: node)
        return UnsafePointer(copy)
    }

    /// Greedy descent at one upper level: moves to the closest neighbour until none is closer.
    func greedy(
        _ q: UnsafePointer<Float>, from start: Neighbor, level: Int, locks: HNSWBuildLocks? = nil,
        scratch: HNSWScratch
    ) -> Neighbor {
        var best = start
        var changed = true
        while changed {
            changed = false
            let list = readableLinks(Int(best.node), level, locks: locks, scratch: scratch)
            let n = Int(list[0])
            var i = 0
            if !isL2 {
                // Four distances at a time (overlapping their cache misses), as in the beam search.
                while i + 4 <= n {
                    let d4 = negativeDots4(q, Int(list[1 + i]), Int(list[2 + i]), Int(list[3 + i]), Int(list[4 + i]))
                    for t in 0..<4 where d4[t] < best.distance {
                        best = Neighbor(distance: d4[t], node: list[1 + i + t])
                        changed = true
                    }
                    i += 4
                }
            }
            while i < n {
                let candidate = Int(list[1 + i])
                let d = distance(q, candidate)
                if d < best.distance {
                    best = Neighbor(distance: d, node: UInt32(candidate))
                    changed = true
                }
                i += 1
            }
        }
        return best
    }

    /// Beam search of width `ef` at `level` from `entry`. On return `scratch.results`
    /// (max-heap) holds up to `ef` accepted nodes; nodes failing `accept` are still
    /// traversed (tombstones and filters keep the graph connected) but not returned.
    func searchLayer(
        _ q: UnsafePointer<Float>, entry: Neighbor, ef: Int, level: Int,
        scratch: HNSWScratch, accept: ((Int) -> Bool)?, locks: HNSWBuildLocks? = nil
    ) {
        let stamp = scratch.generation
        scratch.reservePending(max(maxLinks0, maxLinks) + 1)
        let pending = scratch.pending, pendingDistances = scratch.pendingDistances
        let rowBytes = dimensions * (float32 == nil ? 2 : 4)
        let rows = float32.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(float16!)
        let prefetchBytes = min(rowBytes, 1024)
        scratch.visited.withUnsafeMutableBufferPointer { visited in
            visited[Int(entry.node)] = stamp
            scratch.candidates.push(entry)
            var bound = Float.infinity
            if accept?(Int(entry.node)) ?? true {
                scratch.results.push(entry)
                bound = entry.distance
            }
            while !scratch.candidates.isEmpty {
                let current = scratch.candidates.top
                if current.distance > bound, scratch.results.count >= ef { break }
                scratch.candidates.pop()
                let list = readableLinks(Int(current.node), level, locks: locks, scratch: scratch)
                let n = Int(list[0])
                // Unvisited neighbours first, then their distances four at a time
                // (overlapping the cache misses), then the usual updates in order.
                var fresh = 0
                for i in 0..<n {
                    let candidate = Int(list[1 + i])
                    if visited[candidate] == stamp { continue }
                    visited[candidate] = stamp
                    pending[fresh] = UInt32(candidate)
                    fresh += 1
                    // Start the first lines of each row loading now; the hardware prefetcher follows
                    // the rest once the dot products stream through them.
                    let row = rows + candidate * rowBytes
                    var offset = 0
                    while offset < prefetchBytes {
                        satseek_prefetch(row + offset)
                        offset += 64
                    }
                }
                var j = 0
                if !isL2 {
                    while j + 4 <= fresh {
                        let d4 = negativeDots4(
                            q, Int(pending[j]), Int(pending[j + 1]), Int(pending[j + 2]), Int(pending[j + 3]))
                        for t in 0..<4 { pendingDistances[j + t] = d4[t] }
                        j += 4
                    }
                }
                while j < fresh {
                    pendingDistances[j] = distance(q, Int(pending[j]))
                    j += 1
                }
                for i in 0..<fresh {
                    let candidate = Int(pending[i])
                    let d = pendingDistances[i]
                    if scratch.results.count < ef || d < bound {
                        scratch.candidates.push(Neighbor(distance: d, node: UInt32(candidate)))
                        if accept?(candidate) ?? true {
                            scratch.results.push(Neighbor(distance: d, node: UInt32(candidate)))
                            if scratch.results.count > ef { scratch.results.pop() }
                            bound = scratch.results.top.distance
                        }
                    }
                }
                // The next node to expand is on top now: fetch its link list during the heap work.
                if !scratch.candidates.isEmpty { satseek_prefetch(links(Int(scratch.candidates.top.node), level)) }
            }
        }
    }

    /// The heuristic of Malkov & Yashunin (Algorithm 4, no extension): walks `sorted`
    /// (closest first) and keeps a candidate only if it is closer to the base than to
    /// every neighbour kept so far, up to `limit` neighbours.
    func selectNeighbours(_ sorted: [Neighbor], limit: Int, scratch: HNSWScratch) -> [Neighbor] {
        if sorted.count <= limit { return sorted }
        var kept: [Neighbor] = []
        kept.reserveCapacity(limit)
        scratch.buffer.withUnsafeMutableBufferPointer { buffer in
            for candidate in sorted {
                if kept.count >= limit { break }
                let vector = self.vector(Int(candidate.node), buffer: buffer.baseAddress!)
                var good = true
                for other in kept where distance(vector, Int(other.node)) < candidate.distance {
                    good = false
                    break
                }
                if good { kept.append(candidate) }
            }
        }
        return kept
    }

    /// Adds a link `from → to` at `level`; a full list is pruned with the heuristic.
    func addLink(from: Int, to: Int, level: Int, scratch: HNSWScratch) {
        let list = links(from, level)
        let limit = level == 0 ? maxLinks0 : maxLinks
        let n = Int(list[0])
        for i in 0..<n where Int(list[1 + i]) == to { return }
        if n < limit {
            list[1 + n] = UInt32(to)
            list[0] = UInt32(n + 1)
            return
        }
        var candidates: [Neighbor] = []
        candidates.reserveCapacity(n + 1)
        scratch.buffer2.withUnsafeMutableBufferPointer { buffer in
            let base = vector(from, buffer: buffer.baseAddress!)
            for i in 0..<n {
                let node = Int(list[1 + i])
                candidates.append(Neighbor(distance: distance(base, node), node: UInt32(node)))
            }
            candidates.append(Neighbor(distance: distance(base, to), node: UInt32(to)))
        }
        candidates.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node) }
        let kept = selectNeighbours(candidates, limit: limit, scratch: scratch)
        for (i, neighbour) in kept.enumerated() { list[1 + i] = neighbour.node }
        list[0] = UInt32(kept.count)
    }
}
