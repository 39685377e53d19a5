import Foundation
import Synchronization
import Testing
@testable import SatSeekTensor

@Suite("parallel work splitting")
struct ParallelTests {
    @Test(
        "contiguous chunks cover every unit once, in order within a chunk",
        arguments: [(0, 2), (1, 2), (7, 2), (7, 3), (100, 1), (100, 2)])
    func chunksCoverEachUnitOnce(count: Int, threads: Int) {
        let seen = Mutex([Int](repeating: 0, count: count))
        parallelChunks(count, threads: threads) { range in
            seen.withLock { counts in for unit in range { counts[unit] += 1 } }
        }
        #expect(seen.withLock { $0 } == [Int](repeating: 1, count: count))
    }

    @Test(
        "claimed items: each exactly once, over at most `threads` workers",
        arguments: [(0, 2), (1, 2), (2, 2), (5, 3), (33, 2), (100, 4)])
    func claimsEachItemOnce(count: Int, threads: Int) {
        let seen = Mutex([Int](repeating: 0, count: count))
        let workers = Atomic<Int>(0)
        parallelClaims(count, threads: threads) { next in
            workers.add(1, ordering: .relaxed)
            while let item = next() { seen.withLock { $0[item] += 1 } }
            #expect(next() == nil, "an exhausted worker stays exhausted")
        }
        #expect(seen.withLock { $0 } == [Int](repeating: 1, count: count))
        #expect(workers.load(ordering: .relaxed) == max(1, min(threads, count)))
    }

    @Test("one worker claims the items in order")
    func oneWorkerClaimsInOrder() {
        var order: [Int] = []
        parallelClaims(6, threads: 1) { next in
            while let item = next() { order.append(item) }
        }
        #expect(order == [0, 1, 2, 3, 4, 5])
    }

    @Test("a detached thread runs its body once, on a thread of its own that carries its name")
    func detachedThread() async throws {
        let callerThread = pthread_self()
        let (name, ranElsewhere) = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<(String, Bool), any Error>) in
            do {
                try startDetachedThread(name: "satseek-test-thread-name-cut", stackSize: 1 << 20) {
                    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                    continuation.resume(
                        returning: (
                            comm.trimmingCharacters(in: .newlines), pthread_equal(pthread_self(), callerThread) == 0
                        ))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        #expect(ranElsewhere)
        #if os(Linux)
            #expect(name == "satseek-test-th")  // Linux keeps the first 15 bytes
        #endif
    }
}
