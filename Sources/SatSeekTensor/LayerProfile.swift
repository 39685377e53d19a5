import Foundation

/// Accumulates wall time per operation kind, to show where inference time goes
/// (`satseek bench embed --profile`). Thread-safe; costs nothing when not passed.
public final class LayerProfile: @unchecked Sendable {
    private var seconds: [String: Double] = [:]
    private var calls: [String: Int] = [:]
    private var order: [String] = []
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
        if seconds[name] == nil { order.append(name) }
        seconds[name, default: 0] += value
        calls[name, default: 0] += 1
    }

    /// (name, total seconds, calls) in first-seen order.
    public var entries: [(name: String, seconds: Double, calls: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return order.map { ($0, seconds[$0]!, calls[$0]!) }
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
