import COpenBLAS
import COpenBLASSetup

/// Mean over each channel's plane: `channels × plane` → `channels`.
public func globalAveragePool(
    _ input: UnsafePointer<Float>, channels: Int, plane: Int,
    output: UnsafeMutablePointer<Float>
) {
    let scale = 1 / Float(plane)
    for c in 0..<channels {
        var sum: Float = 0
        let row = input + c * plane
        for i in 0..<plane { sum += row[i] }
        output[c] = sum * scale
    }
}

/// Scales `vector` to unit L2 norm in place (a zero vector stays zero).
public func l2Normalize(_ vector: UnsafeMutableBufferPointer<Float>) {
    var sum: Double = 0
    for v in vector { sum += Double(v) * Double(v) }
    guard sum > 0 else { return }
    let scale = Float(1 / sum.squareRoot())
    for i in vector.indices { vector[i] *= scale }
}

/// Fully connected layer `y = W x + b` (PyTorch `nn.Linear`, weight `out × in`).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: [Float]
    public let bias: [Float]

    public init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]) {
        checkArgument(weight.count == inFeatures * outFeatures && bias.count == outFeatures)
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        self.weight = weight; self.bias = bias
    }

    /// Applies the layer to one vector.
    public func apply(_ input: [Float]) -> [Float] {
        checkArgument(input.count == inFeatures)
        var output = bias
        weight.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    cblas_sgemv(
                        CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures),
                        1, w.baseAddress!, Int32(inFeatures), x.baseAddress!, 1, 1, y.baseAddress!, 1)
                }
            }
        }
        return output
    }
}

/// Element-wise `a += b` over `count` floats (residual connections).
@inlinable
public func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { a[i] += b[i] }
}

/// OpenBLAS's thread count, set to 1 while the program loads (COpenBLASSetup): the engine, not OpenBLAS, owns
/// threading — SatSeek splits work itself and calls BLAS from several threads at once, and changing the count
/// while other threads are inside BLAS is not safe.
public var blasThreads: Int { Int(satseek_blas_threads_at_load()) }

/// The kernel set OpenBLAS runs ("Haswell", "Cooperlake", …), and whether the load-time set-up replaced an AVX-512
/// set on an AMD processor by the Haswell one (COpenBLASSetup says why).
public var blasCore: (name: String, replaced: Bool) {
    (satseek_blas_core().map { String(cString: $0) } ?? "unknown", satseek_blas_core_replaced() != 0)
}
