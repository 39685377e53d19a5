import Dispatch
import SatSeekRandom
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Approximate nearest-neighbour index: Hierarchical Navigable Small World graph
/// (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search
/// using Hierarchical Navigable Small World graphs", TPAMI 2018).
///
/// - Layers: a node's top layer is `⌊−ln(u)·mL⌋` with `mL = 1/ln(M)` and `u` from a
///   SplitMix64 generator seeded by ``Parameters/seed``. Batches of 2 048 nodes or more are
///   inserted by every core at once (per-node striped locks, as in hnswlib); smaller ones, or
///   any with ``Parameters/buildThreads`` 1, sequentially, so the graph is then a deterministic
///   function of the seed and the insertion order.
/// - Links: at most `M` per node on upper layers and `2·M` on layer 0, chosen with
///   the paper's neighbour-selection heuristic (Algorithm 4).
/// - Scores follow ``Metric``: cosine (vectors normalised on add and query), inner
///   product, or negative squared L2; higher is better, ties by smaller id.
/// - Storage: float32 or float16 vectors (int8 is not supported here).
/// - Deletion marks a tombstone: the node still routes searches but is never
///   returned; ``rebuild()`` compacts the graph without the deleted nodes.
public struct HNSWIndex: VectorIndex {
    /// Construction and search parameters.
    public struct Parameters: Sendable, Equatable {
        /// Links per node on layers ≥ 1 (layer 0 keeps `2·M`).
        public var M: Int
        /// Beam width while inserting.
        public var efConstruction: Int
        /// Default beam width while searching (raised to `k` when smaller).
        public var efSearch: Int
        /// Seed of the layer generator.
        public var seed: UInt64
        /// Threads inserting a large batch (0: one per core; 1: sequential, so the graph is a deterministic
        /// function of the seed and insertion order). Not stored in index files.
        public var buildThreads = 0

        /// Creates parameters (defaults: M 16, efConstruction 200, efSearch 64, seed 42).
        public init(M: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 42) {
            checkArgument(M >= 2, "HNSW M must be at least 2")
            self.M = M
            self.efConstruction = max(efConstruction, M)
            self.efSearch = max(1, efSearch)
            self.seed = seed
        }
    }

    /// Length of every stored vector.
    public let dimensions: Int
    /// Similarity measure used for scoring.
    public let metric: Metric
    /// Element type of stored vectors (``VectorStorage/float32`` or ``VectorStorage/float16``).
    public let storage: VectorStorage
    /// Parameters; `efSearch` may be changed between searches.
    public var parameters: Parameters

    /// Ids by node, in insertion order.
    public internal(set) var ids: [Int64] = []
    var float32Rows: [Float] = []
    var float16Rows: [Float16] = []
    var levels: [UInt8] = []
    var level0: [UInt32] = []
    var upperOffsets: [Int32] = []
    var upper: [UInt32] = []
    var deleted: [Bool] = []
    /// Number of tombstoned nodes.
    public internal(set) var deletedCount = 0
    var entryPoint = -1
    var maxLevel = -1
    var rngState: UInt64
    var nodeByID: [Int64: Int] = [:]
    let scratchPool = HNSWScratchPool()

    /// Number of nodes, including tombstoned ones (see ``liveCount``).
    public var count: Int { ids.count }
    /// Number of searchable (not deleted) vectors.
    public var liveCount: Int { ids.count - deletedCount }
    var maxLinks0: Int { 2 * parameters.M }

    /// Creates an empty index.
    public init(
        dimensions: Int, metric: Metric = .cosine, storage: VectorStorage = .float32,
        parameters: Parameters = Parameters()
    ) {
        checkArgument(dimensions > 0, "HNSWIndex dimensions must be positive")
        checkArgument(storage != .int8, "HNSWIndex stores float32 or float16 vectors")
        self.dimensions = dimensions
        self.metric = metric
        self.storage = storage
        self.parameters = parameters
        rngState = parameters.seed
    }

    /// Creates an index and inserts `vectors` (row-major, `ids.count × dimensions`).
    public init(
        dimensions: Int, metric: Metric = .cosine, storage: VectorStorage = .float32,
        parameters: Parameters = Parameters(), ids: [Int64], vectors: [Float]
    ) {
        self.init(dimensions: dimensions, metric: metric, storage: storage, parameters: parameters)
        add(ids: ids, vectors: vectors)
    }

    /// Next layer from the seeded SplitMix64 stream.
    mutating func drawLevel() -> Int {
        var generator = SplitMix64(seed: rngState)
        let uniform = generator.positiveUnitDouble()
        rngState = generator.state
        let level = Int(-log(uniform) / log(Double(parameters.M)))
        return min(level, 30)
    }

    /// Inserts vectors one by one (incremental; may be called repeatedly). Ids should
    /// be unique; re-adding a live id makes the old node a tombstone.
    public mutating func add(ids newIDs: [Int64], vectors: [Float]) {
        checkArgument(
            vectors.count == newIDs.count * dimensions,
            "add: expected \(newIDs.count) × \(dimensions) floats, got \(vectors.count)")
        guard !newIDs.isEmpty else { return }
        let dims = dimensions, first = ids.count
        let rows = metric.prepared(vectors, dimensions: dims)
        // Grow every array first so the insert loop can work on pinned pointers.
        for (offset, id) in newIDs.enumerated() {
            if let old = nodeByID[id], !deleted[old] { deleted[old] = true; deletedCount += 1 }
            nodeByID[id] = first + offset
            let level = drawLevel()
            levels.append(UInt8(level))
            upperOffsets.append(level == 0 ? -1 : Int32(upper.count))
            upper.append(contentsOf: repeatElement(0, count: level * (parameters.M + 1)))
        }
        ids.append(contentsOf: newIDs)
        deleted.append(contentsOf: repeatElement(false, count: newIDs.count))
        level0.append(contentsOf: repeatElement(0, count: newIDs.count * (maxLinks0 + 1)))
        if storage == .float32 {
            float32Rows.append(contentsOf: rows)
        } else {
            float16Rows.append(contentsOf: rows.lazy.map { Float16($0) })
        }
        let efConstruction = parameters.efConstruction, M = parameters.M
        let threads = insertThreads(count: newIDs.count, existing: first)
        let state = HNSWEntryState(node: entryPoint, top: maxLevel, locks: threads > 1 ? HNSWBuildLocks() : nil)
        let pool = scratchPool
        withMutableGraph { graph in
            rows.withUnsafeBufferPointer { input in
                let base = UncheckedPointer(input.baseAddress!)
                // The first nodes of an empty graph go in one by one: the others need a graph to search.
                let seeded = threads > 1 && first == 0 ? min(newIDs.count, 256) : 0
                let insertOne: @Sendable (Int, HNSWScratch) -> Void = { node, scratch in
                    Self.insert(
                        node: node, vector: base.pointer + (node - first) * dims, graph: graph, state: state,
                        efConstruction: efConstruction, M: M, scratch: scratch)
                }
                let scratch = pool.take()
                for node in first..<(first + (threads > 1 ? seeded : newIDs.count)) { insertOne(node, scratch) }
                pool.give(scratch)
                guard threads > 1 else { return }
                let next = UncheckedCounter(first + seeded)
                let end = first + newIDs.count
                DispatchQueue.concurrentPerform(iterations: threads) { _ in
                    let scratch = pool.take()
                    while let node = next.claim(below: end) { insertOne(node, scratch) }
                    pool.give(scratch)
                }
            }
        }
        entryPoint = state.node
        maxLevel = state.top
    }

    /// Inserts one node whose arrays are already in place. With `state.locks` other threads insert at the same
    /// time: link lists are read and written under their node's lock, and a node that raises the top level
    /// holds the entry lock for its whole insertion.
    static func insert(
        node: Int, vector q: UnsafePointer<Float>, graph: HNSWGraphView, state: HNSWEntryState,
        efConstruction: Int, M: Int, scratch: HNSWScratch
    ) {
        let level = Int(graph.levels[node])
        let locks = state.locks
        locks?.lockEntry()
        let entry = state.node, top = state.top
        let raisesTop = level > top
        if !raisesTop { locks?.unlockEntry() }
        defer {
            if raisesTop {
                state.node = node
                state.top = level
                locks?.unlockEntry()
            }
        }
        guard entry >= 0 else { return }
        var current = Neighbor(distance: graph.distance(q, entry), node: UInt32(entry))
        if top > level {
            for layer in stride(from: top, to: level, by: -1) {
                current = graph.greedy(q, from: current, level: layer, locks: locks, scratch: scratch)
            }
        }
        // Choose the neighbours of every layer first (top down, each search starting where the one above
        // ended), then link the node in bottom up. The node's own lists never take part in its searches, so a
        // sequential build is the same as linking layer by layer; with other threads inserting, the node can
        // only be reached on a layer once every list below it is written — a thread that descends into it from
        // above never finds an empty lower list, and never adds a link that the node's own write then drops.
        let linkedTop = min(level, top)
        var chosenByLayer = [[Neighbor]](repeating: [], count: linkedTop + 1)
        for layer in stride(from: linkedTop, through: 0, by: -1) {
            scratch.reset(nodes: graph.count, dimensions: graph.dimensions)
            graph.searchLayer(
                q, entry: current, ef: efConstruction, level: layer, scratch: scratch, accept: nil,
                locks: locks)
            var found = scratch.results.items
            found.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.node < $1.node) }
            chosenByLayer[layer] = graph.selectNeighbours(found, limit: M, scratch: scratch)
            current = found[0]
        }
        for layer in 0...linkedTop {
            let chosen = chosenByLayer[layer]
            locks?.lock(node: node)
            let list = graph.links(node, layer)
            for (i, neighbour) in chosen.enumerated() { list[1 + i] = neighbour.node }
            list[0] = UInt32(chosen.count)
            locks?.unlock(node: node)
            for neighbour in chosen {
                let other = Int(neighbour.node)
                locks?.lock(node: other)
                graph.addLink(from: other, to: node, level: layer, scratch: scratch)
                locks?.unlock(node: other)
            }
        }
    }

    /// Runs `body` with pointers into the (mutable) graph arrays.
    mutating func withMutableGraph<R>(_ body: (HNSWGraphView) -> R) -> R {
        // Move the link arrays out so they are uniquely referenced (no copy-on-write).
        var links0 = level0, linksUp = upper
        level0 = []
        upper = []
        defer {
            level0 = links0
            upper = linksUp
        }
        return links0.withUnsafeMutableBufferPointer { l0 in
            linksUp.withUnsafeMutableBufferPointer { up in
                makeView(level0: l0.baseAddress, upper: up.baseAddress, body)
            }
        }
    }

    /// Runs `body` with read-only use of the graph (searches never write links).
    func withGraph<R>(_ body: (HNSWGraphView) -> R) -> R {
        level0.withUnsafeBufferPointer { l0 in
            upper.withUnsafeBufferPointer { up in
                makeView(
                    level0: l0.baseAddress.map { UnsafeMutablePointer(mutating: $0) },
                    upper: up.baseAddress.map { UnsafeMutablePointer(mutating: $0) }, body)
            }
        }
    }

    private func makeView<R>(
        level0 l0: UnsafeMutablePointer<UInt32>?, upper up: UnsafeMutablePointer<UInt32>?,
        _ body: (HNSWGraphView) -> R
    ) -> R {
        let empty = Self.emptyLinks
        return upperOffsets.withUnsafeBufferPointer { offsets in
            levels.withUnsafeBufferPointer { lv in
                float32Rows.withUnsafeBufferPointer { f32 in
                    float16Rows.withUnsafeBufferPointer { f16 in
                        body(
                            HNSWGraphView(
                                count: ids.count, dimensions: dimensions, isL2: metric == .l2,
                                float32: f32.isEmpty ? nil : f32.baseAddress,
                                float16: f16.isEmpty ? nil : f16.baseAddress,
                                level0: l0 ?? empty, maxLinks0: maxLinks0, upper: up ?? empty,
                                upperOffsets: offsets.baseAddress ?? UnsafePointer(OpaquePointer(empty)),
                                maxLinks: parameters.M, levels: lv.baseAddress ?? UnsafePointer(OpaquePointer(empty))))
                    }
                }
            }
        }
    }

    nonisolated(unsafe) static let emptyLinks = UnsafeMutablePointer<UInt32>.allocate(capacity: 4)
}
