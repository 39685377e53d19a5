/// Element type in which an index stores its vectors.
///
/// - ``float32``: exact, 4 bytes per dimension.
/// - ``float16``: IEEE half precision, 2 bytes per dimension; relative rounding
///   error ≤ 2⁻¹¹ per element, so scores of unit vectors move by ~1e-3 at most.
/// - ``int8``: **symmetric per-vector** quantisation, 1 byte per dimension plus one
///   float scale per vector: `x ≈ scale · q` with `q ∈ [-127, 127]` and
///   `scale = max|xᵢ| / 127`. Per-vector (not per-dimension) scaling keeps each row
///   self-contained (rows can be appended without re-quantising the others) and
///   costs one multiply per score; the query stays float32.
public enum VectorStorage: String, Sendable, Codable, CaseIterable {
    case float32
    case float16
    case int8

    /// Bytes per stored element (the int8 scale is extra).
    public var bytesPerElement: Int {
        switch self {
        case .float32: 4;
        case .float16: 2;
        case .int8: 1
        }
    }

    var fileCode: UInt8 {
        switch self {
        case .float32: 0;
        case .float16: 1;
        case .int8: 2
        }
    }

    init?(fileCode: UInt8) {
        switch fileCode {
        case 0: self = .float32;
        case 1: self = .float16;
        case 2: self = .int8;
        default: return nil
        }
    }
}

/// SIMD dot products of a float32 query against one stored row of each storage type.
/// Built with `-march=native`, these compile to AVX2/FMA/F16C on x86-64.
enum VectorKernels {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0.addProduct(
                ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            s1.addProduct(
                ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
            s2.addProduct(
                ra.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self))
            s3.addProduct(
                ra.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self))
            i += 32
        }
        while i + 8 <= n {
            s0.addProduct(
                ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { total += a[i] * b[i]; i += 1 }
        return total
    }

    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, half row: UnsafePointer<Float16>, _ n: Int) -> Float {
        let rq = UnsafeRawPointer(q), rr = UnsafeRawPointer(row)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0.addProduct(
                rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
            s1.addProduct(
                rq.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self),
                SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2 + 16, as: SIMD8<Float16>.self)))
            s2.addProduct(
                rq.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self),
                SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2 + 32, as: SIMD8<Float16>.self)))
            s3.addProduct(
                rq.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self),
                SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2 + 48, as: SIMD8<Float16>.self)))
            i += 32
        }
        while i + 8 <= n {
            s0.addProduct(
                rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
            i += 8
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { total += q[i] * Float(row[i]); i += 1 }
        return total
    }

    /// Dot product with the *unscaled* int8 codes (multiply by the row scale after).
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, int8 row: UnsafePointer<Int8>, _ n: Int) -> Float {
        let rq = UnsafeRawPointer(q), rr = UnsafeRawPointer(row)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        @inline(__always) func codes(_ offset: Int) -> SIMD8<Float> {
            SIMD8<Float>(
                SIMD8<Int32>(truncatingIfNeeded: rr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)))
        }
        var i = 0
        while i + 32 <= n {
            s0.addProduct(rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), codes(i))
            s1.addProduct(rq.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self), codes(i + 8))
            s2.addProduct(rq.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self), codes(i + 16))
            s3.addProduct(rq.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self), codes(i + 24))
            i += 32
        }
        while i + 8 <= n {
            s0.addProduct(rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), codes(i))
            i += 8
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { total += q[i] * Float(row[i]); i += 1 }
        return total
    }

    /// Dot products of one float32 query with four stored rows at once; the four
    /// independent memory streams overlap their cache misses (graph search).
    @inline(__always)
    static func dot4(
        _ q: UnsafePointer<Float>, _ r0: UnsafeRawPointer, _ r1: UnsafeRawPointer,
        _ r2: UnsafeRawPointer, _ r3: UnsafeRawPointer, half: Bool, _ n: Int
    ) -> SIMD4<Float> {
        let rq = UnsafeRawPointer(q)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        if half {
            while i + 8 <= n {
                let x = rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                s0.addProduct(x, SIMD8<Float>(r0.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
                s1.addProduct(x, SIMD8<Float>(r1.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
                s2.addProduct(x, SIMD8<Float>(r2.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
                s3.addProduct(x, SIMD8<Float>(r3.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
                i += 8
            }
        } else {
            while i + 8 <= n {
                let x = rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                s0.addProduct(x, r0.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                s1.addProduct(x, r1.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                s2.addProduct(x, r2.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                s3.addProduct(x, r3.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                i += 8
            }
        }
        var out = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
        while i < n {
            let rows = [r0, r1, r2, r3]
            for j in 0..<4 {
                let value =
                    half
                    ? Float(rows[j].loadUnaligned(fromByteOffset: i * 2, as: Float16.self))
                    : rows[j].loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                out[j] += q[i] * value
            }
            i += 1
        }
        return out
    }

    /// `‖a − b‖²` of float32 vectors.
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let d0 =
                ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                - rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let d1 =
                ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                - rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            s0.addProduct(d0, d0)
            s1.addProduct(d1, d1)
            i += 16
        }
        var total = (s0 + s1).sum()
        while i < n { let d = a[i] - b[i]; total += d * d; i += 1 }
        return total
    }

    /// `‖q − row‖²` for a float32 query against a float16 row.
    @inline(__always)
    static func squaredDistance(_ q: UnsafePointer<Float>, half row: UnsafePointer<Float16>, _ n: Int) -> Float {
        let rq = UnsafeRawPointer(q), rr = UnsafeRawPointer(row)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let d0 =
                rq.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                - SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self))
            let d1 =
                rq.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                - SIMD8<Float>(rr.loadUnaligned(fromByteOffset: i * 2 + 16, as: SIMD8<Float16>.self))
            s0.addProduct(d0, d0)
            s1.addProduct(d1, d1)
            i += 16
        }
        var total = (s0 + s1).sum()
        while i < n { let d = q[i] - Float(row[i]); total += d * d; i += 1 }
        return total
    }

    /// Converts `n` halves to floats.
    @inline(__always)
    static func widen(_ source: UnsafePointer<Float16>, into target: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { target[i] = Float(source[i]) }
    }

    /// Converts `n` int8 codes to floats multiplied by `scale`.
    @inline(__always)
    static func widen(_ source: UnsafePointer<Int8>, scale: Float, into target: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { target[i] = Float(source[i]) * scale }
    }

    /// Quantises one row to int8 codes; returns the scale (`0` for an all-zero row).
    static func quantise(_ row: UnsafePointer<Float>, into codes: UnsafeMutablePointer<Int8>, _ n: Int) -> Float {
        var largest: Float = 0
        for i in 0..<n where row[i].isFinite { largest = max(largest, abs(row[i])) }
        guard largest > 0 else {
            for i in 0..<n { codes[i] = 0 }
            return 0
        }
        let inverse = 127 / largest
        for i in 0..<n {
            let value = row[i].isFinite ? (row[i] * inverse).rounded() : 0
            codes[i] = Int8(max(-127, min(127, value)))
        }
        return largest / 127
    }

    /// L2-normalises one row in place (zero rows stay zero).
    @inline(__always)
    static func normalise(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        let norm = dot(row, row, n).squareRoot()
        guard norm > 0, norm.isFinite else { return }
        let inverse = 1 / norm
        for i in 0..<n { row[i] *= inverse }
    }
}
