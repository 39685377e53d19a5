import COpenBLAS
import Foundation

// Building blocks of transformer encoders (CLIP's vision and text towers, BERT). Activations are
// row-major `tokens × width` matrices; every projection is one SGEMM over all tokens of a sequence.

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm(width, eps)`).
public struct LayerNorm: Sendable {
    public let gamma: [Float]
    public let beta: [Float]
    public let epsilon: Float
    public var width: Int { gamma.count }

    public init(gamma: [Float], beta: [Float], epsilon: Float) {
        checkArgument(gamma.count == beta.count, "LayerNorm: gamma and beta differ in length")
        self.gamma = gamma; self.beta = beta; self.epsilon = epsilon
    }

    /// Normalises each of `rows` rows of `input` into `output` (the two may be the same buffer).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let n = width
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let x = input + r * n, y = output + r * n
                    var mean: Float = 0
                    for i in 0..<n { mean += x[i] }
                    mean /= Float(n)
                    var variance: Float = 0
                    for i in 0..<n { let d = x[i] - mean; variance += d * d }
                    variance /= Float(n)
                    let scale = 1 / (variance + epsilon).squareRoot()
                    for i in 0..<n { y[i] = (x[i] - mean) * scale * g[i] + b[i] }
                }
            }
        }
    }
}

/// The non-linearity between a transformer MLP's two projections.
public enum TransformerActivation: String, Sendable {
    /// `x · Φ(x)` with the exact normal CDF (PyTorch `nn.GELU()`, BERT, OpenCLIP's default).
    case gelu
    /// `x · σ(1.702 x)` (OpenAI CLIP).
    case quickGELU = "quick_gelu"

    /// Applies the activation to `count` values in place.
    public func apply(_ data: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .gelu:
            for i in 0..<count {
                let x = Double(data[i])
                data[i] = Float(0.5 * x * (1 + erf(x * 0.7071067811865476)))
            }
        case .quickGELU:
            for i in 0..<count {
                let x = data[i]
                data[i] = x / (1 + expf(-1.702 * x))
            }
        }
    }
}

extension Linear {
    /// `y = x Wᵀ + b` for `rows` row-major input vectors: one SGEMM, split over output features
    /// when `threads > 1` and the product is large enough to pay for it.
    public func apply(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
        threads: Int = 1
    ) {
        let out = outFeatures, inF = inFeatures
        let workers = worthwhileThreads(threads, work: rows * out * inF)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let wBase = UncheckedSendableBox(w.baseAddress!), bBase = UncheckedSendableBox(b.baseAddress!)
                let x = UncheckedSendableBox(input), y = UncheckedSendableBox(output)
                parallelChunks(out, threads: workers) { columns in
                    guard !columns.isEmpty else { return }
                    for r in 0..<rows {
                        (y.value + r * out + columns.lowerBound).update(
                            from: bBase.value + columns.lowerBound,
                            count: columns.count)
                    }
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(columns.count),
                        Int32(inF), 1, x.value, Int32(inF), wBase.value + columns.lowerBound * inF,
                        Int32(inF), 1, y.value + columns.lowerBound, Int32(out))
                }
            }
        }
    }
}

/// Multi-head self-attention with a fused input projection (PyTorch `nn.MultiheadAttention`:
/// `in_proj_weight` = [W_q; W_k; W_v], `3·width × width`).
public struct MultiHeadSelfAttention: Sendable {
    public let inProjection: Linear
    public let outProjection: Linear
    public let heads: Int
    public var width: Int { outProjection.outFeatures }

    public init(inProjection: Linear, outProjection: Linear, heads: Int) {
        checkArgument(
            inProjection.outFeatures == 3 * inProjection.inFeatures, "attention: in_proj must be 3·width × width")
        checkArgument(heads > 0 && inProjection.inFeatures % heads == 0, "attention: width not divisible by heads")
        self.inProjection = inProjection; self.outProjection = outProjection; self.heads = heads
    }

    /// Floats of scratch ``apply(_:tokens:causal:into:scratch:threads:)`` needs for `tokens` tokens.
    public func scratchCount(tokens: Int) -> Int { tokens * 3 * width + tokens * tokens + tokens * width }

    /// Attends over one sequence of `tokens` rows; `causal` hides later tokens from earlier ones.
    public func apply(
        _ input: UnsafePointer<Float>, tokens: Int, causal: Bool, into output: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        let d = width, headWidth = d / heads, n = tokens
        let qkv = scratch, scores = scratch + n * 3 * d, context = scores + n * n
        inProjection.apply(input, rows: n, into: qkv, threads: threads)
        let scale = 1 / Float(headWidth).squareRoot()
        for h in 0..<heads {
            let q = qkv + h * headWidth, k = qkv + d + h * headWidth, v = qkv + 2 * d + h * headWidth
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(headWidth), scale,
                q, Int32(3 * d), k, Int32(3 * d), 0, scores, Int32(n))
            for i in 0..<n {
                let row = scores + i * n
                let visible = causal ? i + 1 : n
                var maximum = -Float.infinity
                for j in 0..<visible { maximum = max(maximum, row[j]) }
                var sum: Float = 0
                for j in 0..<visible { let e = expf(row[j] - maximum); row[j] = e; sum += e }
                let inverse = 1 / sum
                for j in 0..<visible { row[j] *= inverse }
                for j in visible..<n { row[j] = 0 }
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(headWidth), Int32(n), 1,
                scores, Int32(n), v, Int32(3 * d), 0, context + h * headWidth, Int32(d))
        }
        outProjection.apply(context, rows: n, into: output, threads: threads)
    }
}

/// One transformer encoder layer: attention and a two-layer MLP, each with a residual connection.
///
/// - `normFirst` (CLIP, "pre-LN"): `x += attn(ln1(x)); x += mlp(ln2(x))`.
/// - otherwise (BERT, "post-LN"): `x = ln1(x + attn(x)); x = ln2(x + mlp(x))`.
public struct TransformerBlock: Sendable {
    public let attention: MultiHeadSelfAttention
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    public let activation: TransformerActivation
    public let normFirst: Bool

    public init(
        attention: MultiHeadSelfAttention, norm1: LayerNorm, norm2: LayerNorm, fc1: Linear, fc2: Linear,
        activation: TransformerActivation, normFirst: Bool
    ) {
        self.attention = attention; self.norm1 = norm1; self.norm2 = norm2
        self.fc1 = fc1; self.fc2 = fc2; self.activation = activation; self.normFirst = normFirst
    }

    /// Floats of scratch ``apply(_:tokens:causal:scratch:threads:)`` needs.
    public func scratchCount(tokens: Int) -> Int {
        let d = attention.width
        return 2 * tokens * d + max(attention.scratchCount(tokens: tokens), tokens * fc1.outFeatures)
    }

    /// Runs the layer in place on `tokens × width` activations.
    public func apply(
        _ x: UnsafeMutablePointer<Float>, tokens: Int, causal: Bool,
        scratch: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        let d = attention.width, count = tokens * d
        let normed = scratch, branch = scratch + count, inner = scratch + 2 * count
        if normFirst {
            norm1.apply(x, rows: tokens, into: normed)
            attention.apply(normed, tokens: tokens, causal: causal, into: branch, scratch: inner, threads: threads)
            addInPlace(x, branch, count: count)
            norm2.apply(x, rows: tokens, into: normed)
            mlp(normed, tokens: tokens, into: branch, hidden: inner, threads: threads)
            addInPlace(x, branch, count: count)
        } else {
            attention.apply(x, tokens: tokens, causal: causal, into: branch, scratch: inner, threads: threads)
            addInPlace(x, branch, count: count)
            norm1.apply(x, rows: tokens, into: x)
            mlp(x, tokens: tokens, into: branch, hidden: inner, threads: threads)
            addInPlace(x, branch, count: count)
            norm2.apply(x, rows: tokens, into: x)
        }
    }

    private func mlp(
        _ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>,
        hidden: UnsafeMutablePointer<Float>, threads: Int
    ) {
        fc1.apply(input, rows: tokens, into: hidden, threads: threads)
        activation.apply(hidden, count: tokens * fc1.outFeatures)
        fc2.apply(hidden, rows: tokens, into: output, threads: threads)
    }
}

extension Array where Element == TransformerBlock {
    /// Runs every layer in place; scratch is allocated once for the whole stack.
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, causal: Bool, threads: Int = 1) {
        let needed = map { $0.scratchCount(tokens: tokens) }.max() ?? 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(needed, 1))
        defer { scratch.deallocate() }
        for block in self { block.apply(x, tokens: tokens, causal: causal, scratch: scratch, threads: threads) }
    }
}

/// The input rows of a text transformer: row `i` = `table[ids[i]] + positions[i]` (+ `offset`, e.g. BERT's
/// token-type row), `ids.count × width` floats. Ids must already be checked against the table.
public func tokenEmbeddings(
    _ ids: ArraySlice<Int32>, table: [Float], positions: [Float], width: Int,
    offset: [Float]? = nil
) -> [Float] {
    var x = [Float](repeating: 0, count: ids.count * width)
    x.withUnsafeMutableBufferPointer { out in
        table.withUnsafeBufferPointer { t in
            positions.withUnsafeBufferPointer { p in
                for (i, id) in ids.enumerated() {
                    let row = out.baseAddress! + i * width
                    row.update(from: t.baseAddress! + Int(id) * width, count: width)
                    addInPlace(row, p.baseAddress! + i * width, count: width)
                    if let offset { offset.withUnsafeBufferPointer { addInPlace(row, $0.baseAddress!, count: width) } }
                }
            }
        }
    }
    return x
}
