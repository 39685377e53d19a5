import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The indices `0..<count` of one job, handed out one at a time to whichever thread asks: the job's own
/// low-priority threads, and any thread that would otherwise wait for the job (``BoundedQueue`` lets the
/// indexing pipeline's consumer help this way).
///
/// The indexing pipeline decodes images with it while the network runs at normal priority. The
/// network's threads meet at a barrier after every layer, so a decoder that preempts one of them for a
/// scheduler time slice stalls both; at a lower priority (Linux nice values are per thread) the decoders
/// run in the network's gaps, and when the network has nothing left to do its thread decodes too, at its
/// own priority — so the job cannot starve behind other programs' work on a busy machine.
final class SharedWork: @unchecked Sendable {
    let count: Int
    private let next = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let allDone = DispatchSemaphore(value: 0)
    /// Set for the duration of ``run(_:threads:niceness:offer:_:)``; only read for claimed indices.
    private var body: ((Int) -> Void)?

    private init(count: Int) { self.count = count }

    /// Whether some index has not been claimed yet.
    var hasUnclaimed: Bool { next.load(ordering: .relaxed) < count }

    /// Claims the next index and runs the body on it; `false` (doing nothing) when all are claimed.
    @discardableResult
    func runOne() -> Bool {
        let index = next.add(1, ordering: .relaxed).oldValue
        guard index < count else { return false }
        body!(index)
        if completed.add(1, ordering: .acquiringAndReleasing).newValue == count { allDone.signal() }
        return true
    }

    /// Runs `body(0)`, …, `body(count - 1)` on `threads` new threads whose priority is lowered by `niceness`
    /// nice steps, plus any thread `offer` hands the job to (with `threads` 0, only those); returns when
    /// every index is done.
    static func run(_ count: Int, threads: Int, niceness: Int32, offer: (SharedWork?) -> Void = { _ in },
                    _ body: (Int) -> Void) {
        guard count > 0 else { return }
        let work = SharedWork(count: count)
        withoutActuallyEscaping(body) { body in
            work.body = body
            for _ in 0..<min(max(threads, 0), count) {
                let thread = Thread {
                    #if canImport(Glibc)
                    // On Linux, who = 0 is the calling thread. If lowering is not permitted, it stays as is.
                    let which = __priority_which_t(PRIO_PROCESS.rawValue)
                    _ = setpriority(which, 0, getpriority(which, 0) + niceness)
                    #endif
                    while work.runOne() {}
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            offer(work)
            work.allDone.wait()
            offer(nil)
            work.body = nil
        }
    }
}
