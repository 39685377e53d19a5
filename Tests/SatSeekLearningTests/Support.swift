import Testing
@testable import SatSeekLearning

/// Random matrix with entries uniform in [-scale, scale).
func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64, scale: Float = 1) -> Matrix {
    var random = RandomSource(seed: seed)
    return Matrix(
        rows: rows, columns: columns,
        values: (0..<(rows * columns)).map { _ in (random.nextUnit() * 2 - 1) * scale })
}

/// Σ r ⊙ y in double precision: a scalar whose gradient with respect to y is r.
func weightedSum(_ y: Matrix, _ r: Matrix) -> Double {
    zip(y.values, r.values).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

/// Central finite differences of `f` at `x` for every element.
func numericGradient(_ x: [Float], epsilon: Float = 1e-3, _ f: ([Float]) -> Double) -> [Float] {
    var probe = x
    return x.indices.map { i in
        probe[i] = x[i] + epsilon
        let plus = f(probe)
        probe[i] = x[i] - epsilon
        let minus = f(probe)
        probe[i] = x[i]
        return Float((plus - minus) / Double(2 * epsilon))
    }
}

/// Records an issue for every element where analytic and numeric gradients disagree.
func expectClose(
    _ analytic: [Float], _ numeric: [Float], tolerance: Float = 2e-2, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(analytic.count == numeric.count, "\(what): sizes differ", sourceLocation: sourceLocation)
    var worst: Float = 0
    for (a, n) in zip(analytic, numeric) {
        worst = max(worst, abs(a - n) / max(1, abs(a), abs(n)))
    }
    #expect(worst < tolerance, "\(what): worst relative gradient error \(worst)", sourceLocation: sourceLocation)
    #expect(
        analytic.contains { $0 != 0 }, "\(what): the gradient is all zero, the check proves nothing",
        sourceLocation: sourceLocation)
}

/// A clustered synthetic dataset: class signal in the first `signal` dimensions, noise everywhere.
func clusteredData(
    classes: Int, perClass: Int, dimensions: Int, signal: Int = 8, separation: Float = 1.0,
    noise: Float = 1.0, seed: UInt64
) -> (features: [Float], labels: [Int]) {
    var random = RandomSource(seed: seed)
    let centres = (0..<classes).map { _ in (0..<signal).map { _ in random.nextGaussian() * separation } }
    var features: [Float] = []
    var labels: [Int] = []
    for c in 0..<classes {
        for _ in 0..<perClass {
            for j in 0..<dimensions {
                features.append((j < signal ? centres[c][j] : 0) + random.nextGaussian() * noise)
            }
            labels.append(c)
        }
    }
    return (features, labels)
}

/// Expects `analytic` to be the gradient of `Σ r ⊙ f(x)` with respect to the matrix `x` (central differences).
func expectInputGradient(
    _ analytic: [Float], at x: Matrix, weights r: Matrix, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: (Matrix) -> Matrix
) {
    let numeric = numericGradient(x.values) { v in
        weightedSum(f(Matrix(rows: x.rows, columns: x.columns, values: v)), r)
    }
    expectClose(analytic, numeric, what, sourceLocation: sourceLocation)
}
