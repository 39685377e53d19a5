import Foundation
import SatSeekRandom

/// Deterministic pseudo-random numbers for training: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same sequence on every platform and Swift version (unlike the standard
/// library's `shuffle(using:)`/`random(in:using:)`, whose algorithms are not guaranteed), so weight
/// initialisation, splits and batches are reproducible.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the four state words with SplitMix64 of `seed` (any seed, including 0, is valid).
    public init(seed: UInt64) {
        var seeds = SplitMix64(seed: seed)
        state = (seeds.next(), seeds.next(), seeds.next(), seeds.next())
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    @inline(__always)
    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection, so unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        while true {
            let product = next().multipliedFullWidth(by: b)
            if product.low >= (0 &- b) % b { return Int(product.high) }
        }
    }

    /// A uniform float in `[0, 1)` with 24 random bits.
    public mutating func nextUnit() -> Float {
        Float(next() >> 40) * (1 / Float(1 << 24))
    }

    /// A standard normal sample (Box–Muller, one of the pair).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 1e-300)
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Fisher–Yates shuffle with this generator (reproducible across platforms).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }
}
