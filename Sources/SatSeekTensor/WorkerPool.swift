import CMemoryHints
import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// Helper threads that run the chunks of one layer beside the calling thread, with hand-off latency in the
/// sub-microsecond range: helpers spin briefly on a generation counter after each job (a network's next
/// layer usually follows within microseconds) and only then sleep on a condition variable.
///
/// Dispatch's `concurrentPerform` wakes its workers for every call, which at batch size 1 — ~50 parallel
/// layers per image, some only tens of microseconds long — cost more than the second core gained.
/// One job runs at a time; a caller that finds the pool busy (e.g. two server requests) gets `false` and
/// uses Dispatch instead.
final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool: one helper per core beyond the caller's.
    static let shared = WorkerPool(helpers: max(0, defaultThreadCount - 1))

    /// Spin iterations (with a pause hint) before a helper sleeps: roughly 50–100 µs.
    private static let spinsBeforeSleep = 20_000

    /// Helpers running: those asked for, fewer if the system refused to start some. Set once in `init`.
    private(set) var helpers = 0
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    /// The current job and its chunk count: written before `generation` is bumped, read by helpers after.
    private var job: ((Int) -> Void)?
    private var chunks = 0
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(helpers wanted: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        var started = 0
        for index in 0..<wanted {
            // A helper the system refuses to start leaves its chunks to Dispatch (`run` sees too few helpers).
            do {
                try startDetachedThread(name: "satseek-worker-\(index + 1)") { [unowned(unsafe) self] in
                    self.helperLoop(chunk: index + 1)
                }
                started += 1
            } catch {
                break
            }
        }
        helpers = started
    }

    /// Runs `body(0..<chunks)` with chunk 0 on the calling thread; returns `false` without running anything
    /// when the pool is busy or has too few helpers.
    func run(chunks count: Int, _ body: (Int) -> Void) -> Bool {
        guard count - 1 <= helpers, count > 1,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        withoutActuallyEscaping(body) { body in
            job = body
            chunks = count
            remaining.store(helpers, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            generation.add(1, ordering: .releasing)
            if sleepers.load(ordering: .relaxed) > 0 { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
            body(0)
            // Spin for short waits; yield for long ones so pipeline threads (image decoding) get the core.
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins < Self.spinsBeforeSleep { satseek_spin_pause() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func helperLoop(chunk: Int) {
        var seen = 0
        while true {
            var current = generation.load(ordering: .acquiring)
            var spins = 0
            while current == seen {
                spins += 1
                if spins < Self.spinsBeforeSleep {
                    satseek_spin_pause()
                } else {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .relaxed)
                    current = generation.load(ordering: .acquiring)
                    while current == seen {
                        pthread_cond_wait(condition, mutex)
                        current = generation.load(ordering: .acquiring)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(mutex)
                    break
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if chunk < chunks, let job { job(chunk) }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}
