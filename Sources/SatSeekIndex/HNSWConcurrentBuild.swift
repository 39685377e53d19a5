import Dispatch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Locks that let several threads insert into one HNSW graph (as hnswlib does): each node's link lists are
/// guarded by one of a fixed set of striped mutexes — readers copy a list under its lock, writers change it
/// under the same lock — and the entry point is guarded by its own mutex, held for the whole insertion of a
/// node that becomes the new top.
final class HNSWBuildLocks: @unchecked Sendable {
    private static let stripes = 1 << 14
    private let nodeLocks: UnsafeMutablePointer<pthread_mutex_t>
    private let entryLock: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        nodeLocks = .allocate(capacity: Self.stripes)
        for i in 0..<Self.stripes { pthread_mutex_init(nodeLocks + i, nil) }
        entryLock = .allocate(capacity: 1)
        pthread_mutex_init(entryLock, nil)
    }

    deinit {
        for i in 0..<Self.stripes { pthread_mutex_destroy(nodeLocks + i) }
        nodeLocks.deallocate()
        pthread_mutex_destroy(entryLock)
        entryLock.deallocate()
    }

    @inline(__always) func lock(node: Int) { pthread_mutex_lock(nodeLocks + (node & (Self.stripes - 1))) }
    @inline(__always) func unlock(node: Int) { pthread_mutex_unlock(nodeLocks + (node & (Self.stripes - 1))) }
    func lockEntry() { pthread_mutex_lock(entryLock) }
    func unlockEntry() { pthread_mutex_unlock(entryLock) }
}

/// The graph's entry point and top level while nodes are inserted; with `locks`, shared by several threads.
final class HNSWEntryState: @unchecked Sendable {
    var node: Int
    var top: Int
    let locks: HNSWBuildLocks?

    init(node: Int, top: Int, locks: HNSWBuildLocks?) {
        self.node = node
        self.top = top
        self.locks = locks
    }
}

extension HNSWIndex {
    /// New nodes inserted by all cores at once from this many on (smaller batches stay sequential, and so
    /// deterministic); ``Parameters/buildThreads`` 1 keeps every build sequential.
    static let concurrentInsertMinimum = 2_048

    /// Threads used to insert `count` new nodes into a graph that already holds `existing`.
    func insertThreads(count: Int, existing: Int) -> Int {
        let wanted = parameters.buildThreads > 0 ? parameters.buildThreads : CPUCores.count
        guard wanted > 1, count >= Self.concurrentInsertMinimum else { return 1 }
        return wanted
    }
}

/// A pointer handed to the insertion threads (the rows it points at outlive them and are only read).
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

/// The next node to insert, claimed by the insertion threads one at a time.
final class UncheckedCounter: @unchecked Sendable {
    private var value: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(_ start: Int) {
        value = start
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The next value below `end`, or nil when all are taken.
    func claim(below end: Int) -> Int? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard value < end else { return nil }
        value += 1
        return value - 1
    }
}
