import Foundation

/// Records the wall time of every measured call, named by operation kind, to show where inference time
/// goes (`satseek bench embed --profile`). Thread-safe; costs nothing when not passed.
public final class LayerProfile: @unchecked Sendable {
    private var log: [(name: String, seconds: Double)] = []
    private let lock = NSLock()

    public init() {}

    /// Runs `body` and adds its duration under `name`.
    @inlinable
    public func measure<T>(_ name: String, _ body: () -> T) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        record(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return result
    }

    public func record(_ name: String, seconds value: Double) {
        lock.lock()
        defer { lock.unlock() }
        log.append((name, value))
    }

    /// Every measured call in order.
    public var calls: [(name: String, seconds: Double)] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    /// For a profile of `runs` identical runs (one image each, layers called in the same order): each
    /// call position's fastest time over the runs, summed per name, in first-seen order. The minimum
    /// filters out the bursts of a shared machine, which otherwise land on whichever layer ran then.
    public func fastestPerCall(runs: Int) -> [(name: String, seconds: Double)] {
        let calls = self.calls
        guard runs > 0, !calls.isEmpty, calls.count % runs == 0 else { return [] }
        let perRun = calls.count / runs
        var fastest = [Double](repeating: .infinity, count: perRun)
        for (i, call) in calls.enumerated() { fastest[i % perRun] = min(fastest[i % perRun], call.seconds) }
        var total: [String: Double] = [:]
        var order: [String] = []
        for position in 0..<perRun {
            let name = calls[position].name
            if total[name] == nil { order.append(name) }
            total[name, default: 0] += fastest[position]
        }
        return order.map { ($0, total[$0]!) }
    }
}

extension Optional where Wrapped == LayerProfile {
    /// Measures `body` when a profile is attached, else just runs it.
    @inlinable
    public func measure<T>(_ name: String, _ body: () -> T) -> T {
        switch self {
        case .some(let profile): return profile.measure(name, body)
        case .none: return body()
        }
    }
}
