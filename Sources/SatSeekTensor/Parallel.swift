import Dispatch
import Foundation
import Synchronization

/// Splits `count` units of work into at most `threads` contiguous chunks and runs them concurrently
/// (on ``WorkerPool``'s spinning helpers when free, else through Dispatch).
///
/// The chunks must touch disjoint memory; the body is therefore allowed to capture raw pointers.
/// - Parameters:
///   - count: Number of work units (rows, channels, images).
///   - threads: Maximum number of concurrent chunks; `1` runs inline on the caller's thread.
///   - body: Called once per chunk with the half-open range of units it owns.
public func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let chunks = max(1, min(threads, count))
    if chunks == 1 {
        body(0..<count)
        return
    }
    let ran = WorkerPool.shared.run(chunks: chunks) { chunk in
        body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
    }
    if ran { return }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            shared.value(start..<end)
        }
    }
}

/// Runs up to `threads` workers over items `0..<count` that each claim the next unclaimed item until none
/// is left: `body` is called once per worker with a `next` function returning an item index or `nil`.
///
/// Contiguous chunks (``parallelChunks(_:threads:_:)``) suit work split inside one layer; a batch of
/// images is better claimed one by one, so that a worker whose core is shared with another program takes
/// fewer images instead of the others waiting for its fixed half of the batch.
public func parallelClaims(_ count: Int, threads: Int, _ body: (_ next: () -> Int?) -> Void) {
    let workers = max(1, min(threads, count))
    let claimed = Atomic<Int>(0)
    parallelChunks(workers, threads: workers) { ownWorkers in
        for _ in ownWorkers {
            body {
                let item = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
                return item < count ? item : nil
            }
        }
    }
}

/// Carries a value into concurrently running chunks that access disjoint memory.
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Number of CPU cores the engine uses by default.
public var defaultThreadCount: Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// How many threads are worth using for `work` multiply-adds: splitting a small layer costs more in
/// thread hand-off than it saves, so work below `perThread` operations (~1 M by default) per extra
/// thread stays on one.
@inlinable
public func worthwhileThreads(_ threads: Int, work: Int, perThread: Int = 1_000_000) -> Int {
    max(1, min(threads, work / perThread))
}
