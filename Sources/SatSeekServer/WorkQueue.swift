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
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    /// Jobs running or waiting (guarded by `lock`).
    private var admitted = 0

    init(label: String, workers: Int, waiting: Int) {
        self.workers = max(1, workers)
        self.waiting = max(0, waiting)
        queue = DispatchQueue(label: label, attributes: .concurrent)
        slots = DispatchSemaphore(value: self.workers)
    }

    /// Jobs running or waiting now.
    var load: Int { lock.withLock { admitted } }

    /// Runs `body` on a worker thread, or refuses with ``ServerBusy`` when `workers + waiting` jobs are already in.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
        let capacity = workers + waiting
        let admittedNow = lock.withLock { () -> Bool in
            guard admitted < capacity else { return false }
            admitted += 1
            return true
        }
        guard admittedNow else { return .failure(ServerBusy(retryAfterSeconds: 1)) }
        return await withCheckedContinuation { continuation in
            queue.async {
                self.slots.wait()
                let result = Result { try body() }
                self.slots.signal()
                self.lock.withLock { self.admitted -= 1 }
                continuation.resume(returning: result)
            }
        }
    }
}

/// The server's work queue is full: answered as 503 Service Unavailable with `Retry-After`.
struct ServerBusy: Error {
    let retryAfterSeconds: Int
}
