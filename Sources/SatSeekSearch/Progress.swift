import Foundation

/// A snapshot of a long-running job, for progress bars and logs.
public struct ProgressSnapshot: Sendable {
    public let done: Int
    public let total: Int
    public let skipped: Int
    public let failed: Int
    public let elapsed: Double

    public init(done: Int, total: Int, skipped: Int, failed: Int, elapsed: Double) {
        self.done = done
        self.total = total
        self.skipped = skipped
        self.failed = failed
        self.elapsed = elapsed
    }

    /// Items actually processed (not skipped) per second.
    public var rate: Double { elapsed > 0 ? Double(done - skipped) / elapsed : 0 }
    /// Seconds left at the current rate, nil until a rate is known.
    public var eta: Double? {
        guard rate > 0 else { return nil }
        return Double(total - done) / rate
    }

    /// `[#####-----] 350/750  42.1 img/s  ETA 0:09  skipped 0  failed 1` (`unit`: what is counted, per second).
    public func line(width: Int = 24, unit: String = "img") -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let etaText = eta.map(Self.clock) ?? "--:--"
        return String(
            format: "[%@] %d/%d  %.1f %@/s  ETA %@  skipped %d  failed %d",
            bar, done, total, rate, unit, etaText, skipped, failed)
    }

    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }
}
