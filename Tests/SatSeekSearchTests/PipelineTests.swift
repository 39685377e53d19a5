import Foundation
import Synchronization
import Testing
@testable import SatSeekSearch

/// The indexing pipeline's parts: shared decoding work and the queue whose consumer helps with it.
@Suite struct PipelineTests {
    /// Records which thread ran each index.
    final class Runs: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var threads: [Int: Thread] = [:]
        private(set) var repeats = 0
        func record(_ index: Int) {
            lock.lock(); defer { lock.unlock() }
            if threads[index] != nil { repeats += 1 }
            threads[index] = Thread.current
        }
    }

    @Test("every index runs exactly once", arguments: [1, 2, 3])
    func sharedWorkRunsEachIndexOnce(threads: Int) {
        let runs = Runs()
        SharedWork.run(257, threads: threads, niceness: 19) { runs.record($0) }
        #expect(runs.threads.count == 257 && runs.repeats == 0)
        #expect(runs.threads.values.allSatisfy { $0 != Thread.current })
    }

    @Test func waitingConsumerRunsTheOfferedWork() throws {
        // With no threads of its own, the work only progresses because `take()` helps with it.
        let queue = BoundedQueue<String>(capacity: 1)
        let runs = Runs()
        let producer = Thread {
            SharedWork.run(40, threads: 0, niceness: 0, offer: queue.offer) { runs.record($0) }
            queue.put("batch")
            queue.finish(error: nil)
        }
        producer.start()
        #expect(try queue.take() == "batch")
        #expect(try queue.take() == nil)
        #expect(runs.threads.count == 40 && runs.repeats == 0)
        #expect(runs.threads.values.allSatisfy { $0 == Thread.current })
    }

    @Test func decodingThreadsRunAtLowerPriority() {
        let observed = Mutex<[Int32]>([])
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        let own = getpriority(which, 0)
        SharedWork.run(8, threads: 2, niceness: 5) { _ in
            let nice = getpriority(which, 0)
            observed.withLock { $0.append(nice) }
        }
        #expect(observed.withLock { $0 }.allSatisfy { $0 == min(own + 5, 19) })
    }
}
