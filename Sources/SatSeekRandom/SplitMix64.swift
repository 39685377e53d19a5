import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): the one seeded generator of the package.
///
/// The same seed gives the same sequence on every machine and Swift version (the standard library's
/// generator and the algorithms behind `random(in:using:)` make no such promise), so HNSW layer draws,
/// synthetic sketches, training initialisation and every test's data are reproducible. Its `state` is
/// public so that a structure which persists its generator (an HNSW file) can store and restore it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: the seed, advanced by a fixed odd constant every draw.
    public var state: UInt64

    /// A generator whose sequence is fixed by `seed` (any value, including 0).
    @inlinable public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` from the top 24 bits of the next draw.
    @inlinable public mutating func unitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// A uniform float in `[-1, 1)` from the top 24 bits of the next draw.
    @inlinable public mutating func signedUnitFloat() -> Float { unitFloat() * 2 - 1 }

    /// A uniform double in `range` from the top 53 bits of the next draw.
    @inlinable public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * Double(next() >> 11) / Double(1 << 53)
    }

    /// A uniform double in `(0, 1]` (never zero, so its logarithm is finite).
    @inlinable public mutating func positiveUnitDouble() -> Double { (Double(next() >> 11) + 1) / Double(1 << 53) }

    /// A standard normal sample (Box–Muller, one of the pair).
    @inlinable public mutating func gaussian() -> Double {
        let u = max(uniform(0...1), 1e-300), v = uniform(0...1)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
