import COpenBLAS
import Foundation
import SatSeekTensor

/// A row-major matrix of `rows × columns` floats (one sample per row in a batch).
public struct Matrix: Sendable, Equatable {
    /// Number of rows (samples).
    public let rows: Int
    /// Number of columns (features).
    public let columns: Int
    /// `rows × columns` values, row-major.
    public var values: [Float]

    /// A matrix over `values` (`rows × columns` floats, row-major).
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(
            values.count == rows * columns,
            "matrix \(rows)×\(columns) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A zero matrix.
    public init(rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: 0, count: rows * columns))
    }

    /// Element at `row`, `column`.
    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }
}

extension Matrix {
    /// `α · op(self) · op(other)`, where `op` transposes when asked.
    func product(_ other: Matrix, transposed: Bool = false, otherTransposed: Bool = false, alpha: Float = 1) -> Matrix {
        let m = transposed ? columns : rows, k = transposed ? rows : columns
        let n = otherTransposed ? other.rows : other.columns
        precondition((otherTransposed ? other.columns : other.rows) == k, "matrix product shapes")
        var out = Matrix(rows: m, columns: n)
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    gemm(
                        transposeA: transposed, transposeB: otherTransposed, m: m, n: n, k: k, alpha: alpha,
                        a: a.baseAddress!, lda: columns, b: b.baseAddress!, ldb: other.columns, beta: 0,
                        c: c.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }
}

/// `C[M×N] = α·op(A)·op(B) + β·C` in row-major storage, rows of C split over the CPU cores.
///
/// Each element of C is computed by exactly one BLAS call, so results do not depend on the split.
func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    // Small products are not worth a thread hop.
    let threads = m * n * k >= 1 << 18 ? defaultThreadCount : 1
    let box = UncheckedSendableBox((a, b, c))
    parallelChunks(m, threads: threads) { range in
        let (a, b, c) = box.value
        let rowsA = transposeA ? a + range.lowerBound : a + range.lowerBound * lda
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(range.count), Int32(n), Int32(k), alpha, rowsA, Int32(lda), b, Int32(ldb),
            beta, c + range.lowerBound * ldc, Int32(ldc))
    }
}

/// Gradients of one ``DenseLayer``'s parameters.
public struct DenseGradient: Sendable {
    /// `∂L/∂W`, `outputs × inputs`.
    public var weight: [Float]
    /// `∂L/∂b`, `outputs`.
    public var bias: [Float]
}

/// A trainable fully connected layer `y = W x + b` (weight `outputs × inputs`, PyTorch `nn.Linear` layout)
/// with a hand-written backward pass. Forward and backward are BLAS GEMMs over the whole batch.
public struct DenseLayer: Sendable, Equatable {
    /// Input features.
    public let inputs: Int
    /// Output features.
    public let outputs: Int
    /// `outputs × inputs`, row-major.
    public var weight: [Float]
    /// `outputs` values.
    public var bias: [Float]

    /// A layer with the given parameters.
    public init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inputs * outputs && bias.count == outputs, "dense layer parameter sizes")
        self.inputs = inputs
        self.outputs = outputs
        self.weight = weight
        self.bias = bias
    }

    /// A randomly initialised layer: normal weights with standard deviation `gain / √inputs`
    /// (`gain` √2 before a ReLU — He initialisation — and 1 otherwise), zero bias.
    public init(inputs: Int, outputs: Int, gain: Float, random: inout RandomSource) {
        let scale = gain / Float(inputs).squareRoot()
        let weight = (0..<(inputs * outputs)).map { _ in random.nextGaussian() * scale }
        self.init(inputs: inputs, outputs: outputs, weight: weight, bias: [Float](repeating: 0, count: outputs))
    }

    /// The same layer as an inference-only `SatSeekTensor.Linear` (one vector at a time).
    public var linear: Linear { Linear(inFeatures: inputs, outFeatures: outputs, weight: weight, bias: bias) }

    /// `Y = X Wᵀ + b` for a batch `X` (`batch × inputs`).
    public func forward(_ x: Matrix) -> Matrix {
        precondition(x.columns == inputs, "dense layer expects \(inputs) inputs, got \(x.columns)")
        var y = Matrix(rows: x.rows, columns: outputs)
        y.values.withUnsafeMutableBufferPointer { out in
            for row in 0..<x.rows {
                (out.baseAddress! + row * outputs).update(from: bias, count: outputs)
            }
            x.values.withUnsafeBufferPointer { xs in
                weight.withUnsafeBufferPointer { w in
                    if x.rows == 1 {  // one query: a matrix–vector product is several times faster
                        cblas_sgemv(
                            CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, w.baseAddress!,
                            Int32(inputs), xs.baseAddress!, 1, 1, out.baseAddress!, 1)
                        return
                    }
                    gemm(
                        transposeA: false, transposeB: true, m: x.rows, n: outputs, k: inputs,
                        a: xs.baseAddress!, lda: inputs, b: w.baseAddress!, ldb: inputs,
                        beta: 1, c: out.baseAddress!, ldc: outputs)
                }
            }
        }
        return y
    }

    /// Backward pass: from `∂L/∂Y` and the forward input `X`, the parameter gradients
    /// (`∂L/∂W = (∂L/∂Y)ᵀ X`, `∂L/∂b = Σ_rows ∂L/∂Y`) and, when asked, `∂L/∂X = (∂L/∂Y) W`.
    public func backward(
        input x: Matrix, outputGradient dy: Matrix, needInputGradient: Bool = true
    )
        -> (parameters: DenseGradient, input: Matrix?)
    {
        precondition(dy.rows == x.rows && dy.columns == outputs && x.columns == inputs, "dense backward shapes")
        var dw = [Float](repeating: 0, count: inputs * outputs)
        var db = [Float](repeating: 0, count: outputs)
        var dx: Matrix? = needInputGradient ? Matrix(rows: x.rows, columns: inputs) : nil
        dy.values.withUnsafeBufferPointer { g in
            x.values.withUnsafeBufferPointer { xs in
                dw.withUnsafeMutableBufferPointer { out in
                    gemm(
                        transposeA: true, transposeB: false, m: outputs, n: inputs, k: x.rows,
                        a: g.baseAddress!, lda: outputs, b: xs.baseAddress!, ldb: inputs,
                        beta: 0, c: out.baseAddress!, ldc: inputs)
                }
            }
            for row in 0..<dy.rows {
                for j in 0..<outputs { db[j] += g[row * outputs + j] }
            }
            if dx != nil {
                weight.withUnsafeBufferPointer { w in
                    dx!.values.withUnsafeMutableBufferPointer { out in
                        gemm(
                            transposeA: false, transposeB: false, m: x.rows, n: inputs, k: outputs,
                            a: g.baseAddress!, lda: outputs, b: w.baseAddress!, ldb: inputs,
                            beta: 0, c: out.baseAddress!, ldc: inputs)
                    }
                }
            }
        }
        return (DenseGradient(weight: dw, bias: db), dx)
    }
}

/// Element-wise activations of the head, each with its derivative.
public enum ElementActivation: String, Sendable, Codable {
    /// `y = x`.
    case identity
    /// `y = max(x, 0)`; the derivative at 0 is taken as 0.
    case relu
    /// `y = tanh(x)`, squashing code activations into (−1, 1).
    case tanh

    /// Applies the activation to every element.
    public func forward(_ x: Matrix) -> Matrix {
        switch self {
        case .identity: return x
        case .relu: return Matrix(rows: x.rows, columns: x.columns, values: x.values.map { max($0, 0) })
        case .tanh: return Matrix(rows: x.rows, columns: x.columns, values: x.values.map { Foundation.tanh($0) })
        }
    }

    /// `∂L/∂X` from `∂L/∂Y`, the input `X` and the output `Y` of ``forward(_:)``.
    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix) -> Matrix {
        var dx = dy
        switch self {
        case .identity:
            break
        case .relu:
            for i in dx.values.indices where x.values[i] <= 0 { dx.values[i] = 0 }
        case .tanh:
            for i in dx.values.indices { dx.values[i] *= 1 - y.values[i] * y.values[i] }
        }
        return dx
    }
}

/// Row-wise L2 normalisation `y = x / ‖x‖` (used for float metric embeddings), with its backward pass
/// `∂L/∂x = (∂L/∂y − y (y · ∂L/∂y)) / ‖x‖`. Rows with a zero norm stay zero and pass no gradient.
public enum RowNormalization {
    /// Normalised rows and each row's norm.
    public static func forward(_ x: Matrix) -> (output: Matrix, norms: [Float]) {
        var y = x
        var norms = [Float](repeating: 0, count: x.rows)
        for row in 0..<x.rows {
            var sum: Float = 0
            for j in 0..<x.columns { sum += x[row, j] * x[row, j] }
            let norm = sum.squareRoot()
            norms[row] = norm
            let scale: Float = norm > 0 ? 1 / norm : 0
            for j in 0..<x.columns { y[row, j] *= scale }
        }
        return (y, norms)
    }

    /// `∂L/∂X` from `∂L/∂Y`, the forward output `Y` and the norms.
    public static func backward(output y: Matrix, norms: [Float], outputGradient dy: Matrix) -> Matrix {
        var dx = dy
        for row in 0..<y.rows {
            guard norms[row] > 0 else {
                for j in 0..<y.columns { dx[row, j] = 0 }
                continue
            }
            var dot: Float = 0
            for j in 0..<y.columns { dot += y[row, j] * dy[row, j] }
            let inverse = 1 / norms[row]
            for j in 0..<y.columns { dx[row, j] = (dy[row, j] - y[row, j] * dot) * inverse }
        }
        return dx
    }
}
