/// A loss value with its gradient with respect to the head outputs.
public struct LossValue: Sendable {
    /// The scalar loss.
    public var loss: Float
    /// `∂loss/∂h`, same shape as the outputs.
    public var gradient: Matrix
}

/// How triplets are chosen inside a class-balanced batch.
public enum TripletMining: String, Sendable, Codable, CaseIterable {
    /// For every anchor–positive pair, the closest negative that is still farther than the positive
    /// (FaceNet's semi-hard negative); when there is none, the farthest negative.
    case semiHard = "semi-hard"
    /// For every anchor, its farthest positive and closest negative ("batch hard").
    case hard
}

/// Triplet margin loss `max(0, d(a,p) − d(a,n) + margin)` with `d(x,y) = scale · ‖x − y‖²`,
/// mined inside the batch and averaged over the mined triplets.
///
/// Mining is a discrete choice made on the current distances; the gradient treats the chosen triplets
/// as fixed (as every mining implementation does).
public struct TripletLoss: Sendable, Codable, Equatable {
    /// Required gap between the negative and the positive distance.
    public var margin: Float
    /// How triplets are chosen in the batch.
    public var mining: TripletMining
    /// Scales squared distances, e.g. `1/bits` for code activations so that distances lie in [0, 4]
    /// whatever the code length (unit vectors already lie there with scale 1).
    public var distanceScale: Float

    /// A triplet loss.
    public init(margin: Float, mining: TripletMining, distanceScale: Float = 1) {
        self.margin = margin
        self.mining = mining
        self.distanceScale = distanceScale
    }

    /// Loss value, gradient and the number of mined/active (non-zero loss) triplets for a batch
    /// of outputs `h` with integer class `labels` (one per row).
    public func evaluate(_ h: Matrix, labels: [Int]) -> (value: LossValue, triplets: Int, active: Int) {
        precondition(labels.count == h.rows, "one label per row")
        let n = h.rows, d = h.columns
        var distance = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                var sum: Float = 0
                for c in 0..<d {
                    let diff = h[i, c] - h[j, c]
                    sum += diff * diff
                }
                distance[i * n + j] = sum * distanceScale
                distance[j * n + i] = sum * distanceScale
            }
        }
        var triplets: [(a: Int, p: Int, n: Int)] = []
        for a in 0..<n {
            let positives = (0..<n).filter { $0 != a && labels[$0] == labels[a] }
            let negatives = (0..<n).filter { labels[$0] != labels[a] }
            guard !positives.isEmpty, !negatives.isEmpty else { continue }
            switch mining {
            case .hard:
                let p = positives.max { distance[a * n + $0] < distance[a * n + $1] }!
                let q = negatives.min { distance[a * n + $0] < distance[a * n + $1] }!
                triplets.append((a, p, q))
            case .semiHard:
                for p in positives {
                    let dap = distance[a * n + p]
                    let farther = negatives.filter { distance[a * n + $0] > dap }
                    let q =
                        farther.min { distance[a * n + $0] < distance[a * n + $1] }
                        ?? negatives.max { distance[a * n + $0] < distance[a * n + $1] }!
                    triplets.append((a, p, q))
                }
            }
        }
        var gradient = Matrix(rows: n, columns: d)
        guard !triplets.isEmpty else { return (LossValue(loss: 0, gradient: gradient), 0, 0) }
        let weight = 1 / Float(triplets.count)
        var loss: Float = 0
        var active = 0
        for (a, p, q) in triplets {
            let violation = distance[a * n + p] - distance[a * n + q] + margin
            guard violation > 0 else { continue }
            loss += violation * weight
            active += 1
            // ∂d(x,y)/∂x = 2s(x − y); d(a,p) enters with +, d(a,n) with −.
            let g = 2 * distanceScale * weight
            for c in 0..<d {
                let toPositive = h[a, c] - h[p, c]
                let toNegative = h[a, c] - h[q, c]
                gradient[a, c] += g * (toPositive - toNegative)
                gradient[p, c] -= g * toPositive
                gradient[q, c] += g * toNegative
            }
        }
        return (LossValue(loss: loss, gradient: gradient), triplets.count, active)
    }
}

/// MiLaN's push-to-binary term: `mean((|h| − 1)²)`, pulling code activations towards ±1 so that taking
/// the sign loses little.
public enum PushToBinaryLoss {
    /// Loss and gradient for a batch of code activations `h`.
    public static func evaluate(_ h: Matrix) -> LossValue {
        var gradient = Matrix(rows: h.rows, columns: h.columns)
        guard !h.values.isEmpty else { return LossValue(loss: 0, gradient: gradient) }
        let scale = 1 / Float(h.values.count)
        var loss: Float = 0
        for i in h.values.indices {
            let v = h.values[i]
            let gap = abs(v) - 1
            loss += gap * gap * scale
            gradient.values[i] = 2 * gap * (v > 0 ? 1 : v < 0 ? -1 : 0) * scale
        }
        return LossValue(loss: loss, gradient: gradient)
    }
}

/// MiLaN's bit-balance term: `mean_j (mean_i h_ij)²`, driving every bit to be +1 for about half of the
/// images (a bit that is always on carries no information).
public enum BitBalanceLoss {
    /// Loss and gradient for a batch of code activations `h`.
    public static func evaluate(_ h: Matrix) -> LossValue {
        var gradient = Matrix(rows: h.rows, columns: h.columns)
        guard h.rows > 0, h.columns > 0 else { return LossValue(loss: 0, gradient: gradient) }
        var means = [Float](repeating: 0, count: h.columns)
        for i in 0..<h.rows {
            for j in 0..<h.columns { means[j] += h[i, j] }
        }
        let rows = Float(h.rows), bits = Float(h.columns)
        var loss: Float = 0
        for j in 0..<h.columns {
            means[j] /= rows
            loss += means[j] * means[j] / bits
        }
        for i in 0..<h.rows {
            for j in 0..<h.columns { gradient[i, j] = 2 * means[j] / (rows * bits) }
        }
        return LossValue(loss: loss, gradient: gradient)
    }
}

/// The terms of one objective evaluation.
public struct ObjectiveTerms: Sendable, Codable, Equatable {
    /// Weighted sum of the terms (the optimised value).
    public var total: Float = 0
    /// Triplet term.
    public var triplet: Float = 0
    /// Push-to-binary term (unweighted).
    public var push: Float = 0
    /// Bit-balance term (unweighted).
    public var balance: Float = 0
    /// Fraction of mined triplets that violated the margin.
    public var activeFraction: Float = 0
}

/// The training objective: `triplet + pushWeight · push + balanceWeight · balance`
/// (the last two only for ``HeadOutput/codes`` heads).
public struct HashingObjective: Sendable {
    /// The metric-learning term.
    public var triplet: TripletLoss
    /// Weight of ``PushToBinaryLoss``.
    public var pushWeight: Float
    /// Weight of ``BitBalanceLoss``.
    public var balanceWeight: Float

    /// An objective with the given term weights.
    public init(triplet: TripletLoss, pushWeight: Float, balanceWeight: Float) {
        self.triplet = triplet
        self.pushWeight = pushWeight
        self.balanceWeight = balanceWeight
    }

    /// The weighted terms and the gradient of their sum with respect to `h`.
    public func evaluate(_ h: Matrix, labels: [Int]) -> (terms: ObjectiveTerms, gradient: Matrix) {
        let (tripletValue, count, active) = triplet.evaluate(h, labels: labels)
        var terms = ObjectiveTerms()
        terms.triplet = tripletValue.loss
        terms.activeFraction = count > 0 ? Float(active) / Float(count) : 0
        var gradient = tripletValue.gradient
        if pushWeight != 0 {
            let push = PushToBinaryLoss.evaluate(h)
            terms.push = push.loss
            for i in gradient.values.indices { gradient.values[i] += pushWeight * push.gradient.values[i] }
        }
        if balanceWeight != 0 {
            let balance = BitBalanceLoss.evaluate(h)
            terms.balance = balance.loss
            for i in gradient.values.indices { gradient.values[i] += balanceWeight * balance.gradient.values[i] }
        }
        terms.total = terms.triplet + pushWeight * terms.push + balanceWeight * terms.balance
        return (terms, gradient)
    }
}
