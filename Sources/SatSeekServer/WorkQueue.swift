import Dispatch
import Foundation

/// Blocking work (decoding and embedding uploads, rendering images) with a bound on how much may wait.
///
/// At most `workers` jobs run at once; up to `waiting` more wait for a worker; anything beyond that is refused at
/// once with ``ServerBusy`` (answered as 503 with `Retry-After`), so a burst of expensive uploads cannot stall
/// every other request behind an ever-growing queue.
final class WorkQueue: @unchecked Sendable {
    let workers: Int
    let waiting: Int
    private let queue: DispatchQueue
    private let lock = NSLock()
    /// Jobs running or waiting, jobs running, and the waiting ones in arrival order (all guarded by `lock`).
    private var admitted = 0
    private var running = 0
    private var pending: [@Sendable () -> Void] = []

    init(label: String, workers: Int, waiting: Int) {
        self.workers = max(1, workers)
        self.waiting = max(0, waiting)
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    /// Jobs running or waiting now.
    var load: Int { lock.withLock { admitted } }

    /// Runs `body` on a worker thread, or refuses with ``ServerBusy`` when `workers + waiting` jobs are already in.
    /// Waiting jobs hold no thread: each finished job starts the next one.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
        let capacity = workers + waiting
        let admittedNow = lock.withLock { () -> Bool in
            guard admitted < capacity else { return false }
            admitted += 1
            return true
        }
        guard admittedNow else { return .failure(ServerBusy(retryAfterSeconds: 1)) }
        return await withCheckedContinuation { continuation in
            let job: @Sendable () -> Void = {
                let result = Result { try body() }
                continuation.resume(returning: result)
                self.finished()
            }
            let startNow = lock.withLock { () -> Bool in
                guard running < workers else { pending.append(job); return false }
                running += 1
                return true
            }
            if startNow { queue.async(execute: job) }
        }
    }

    /// One job is done: start the longest-waiting one in its place, or free the worker.
    private func finished() {
        let next = lock.withLock { () -> (@Sendable () -> Void)? in
            admitted -= 1
            if pending.isEmpty { running -= 1; return nil }
            return pending.removeFirst()
        }
        if let next { queue.async(execute: next) }
    }
}

/// The server's work queue is full: answered as 503 Service Unavailable with `Retry-After`.
struct ServerBusy: Error {
    let retryAfterSeconds: Int
}
