import Foundation

/// Which few-label learner turns an analyst's positives and negatives into a ranking.
public enum FeedbackLearner: String, Sendable, Codable, CaseIterable {
    /// Prototype update: mean of the positives minus ``RelevanceFeedback/Settings/negativeWeight`` times the
    /// mean of the negatives (Rocchio).
    case rocchio
    /// Class-balanced, L2-regularised logistic regression on the labelled embeddings, with a sample of the
    /// unlabelled archive as weak negatives, started from (and regularised towards) the Rocchio prototype.
    case logistic
    /// The measured rule: ``rocchio`` while there are no labelled negatives, ``logistic`` from the first one on
    /// (see ``RelevanceFeedback/resolve(_:negatives:)``).
    case auto
}

/// A learned relevance function that is linear in the stored (unit-length) embeddings, so that ranking by it
/// is a cosine search with ``direction`` as the query through any vector index; ``score(cosine:)`` turns the
/// index's cosine into the learner's own score (a probability for ``FeedbackLearner/logistic``, the cosine
/// itself for ``FeedbackLearner/rocchio``), and ``minimumCosine(forScore:)`` turns a score threshold back
/// into a cosine threshold for range searches.
public struct RelevanceModel: Sendable, Equatable {
    /// Query vector (any length scale; the index normalises it).
    public let direction: [Float]
    /// Learner's score = `squash(scale · cosine + bias)`.
    public let scale: Float
    public let bias: Float
    /// The learner that made it (``FeedbackLearner/auto`` resolved).
    public let learner: FeedbackLearner
    /// Whether the score is a probability (logistic) or the cosine itself.
    public var isProbability: Bool { learner == .logistic }

    public init(direction: [Float], scale: Float, bias: Float, learner: FeedbackLearner) {
        self.direction = direction
        self.scale = scale
        self.bias = bias
        self.learner = learner
    }

    /// The learner's score for an item at cosine similarity `cosine` to ``direction``.
    public func score(cosine: Float) -> Float {
        guard isProbability else { return cosine }
        return 1 / (1 + exp(-(scale * cosine + bias)))
    }

    /// The smallest cosine whose score is at least `score` (scores are increasing in the cosine).
    public func minimumCosine(forScore score: Float) -> Float {
        guard isProbability else { return score }
        let p = min(max(score, 1e-6), 1 - 1e-6)
        guard scale > 0 else { return p <= self.score(cosine: 0) ? -1 : 2 }
        return (log(p / (1 - p)) - bias) / scale
    }
}

/// Statistics of an archive's embeddings that adapt a frozen backbone to it without labels: the mean of the
/// unit-length embeddings (centring removes what every tile of the archive shares, so differences between
/// tiles weigh more).
public struct ArchiveStatistics: Sendable, Equatable, Codable {
    public let mean: [Float]
    public let count: Int

    public init(mean: [Float], count: Int) {
        self.mean = mean
        self.count = count
    }

    /// Mean of the L2-normalised rows of `vectors` (row-major, `dimensions` floats each).
    public init(vectors: [Float], dimensions: Int) {
        let rows = dimensions > 0 ? vectors.count / dimensions : 0
        var sum = [Double](repeating: 0, count: dimensions)
        for row in 0..<rows {
            let unit = RelevanceFeedback.unit(Array(vectors[(row * dimensions)..<((row + 1) * dimensions)]))
            for j in 0..<dimensions { sum[j] += Double(unit[j]) }
        }
        mean = sum.map { Float($0 / Double(max(rows, 1))) }
        count = rows
    }
}

/// Few-label learners for relevance feedback: from a handful of positive and negative embeddings to a
/// ``RelevanceModel`` in milliseconds.
public enum RelevanceFeedback {
    /// Settings of the learners (defaults chosen on rsscn7-mini and aid-mini seed 2; see the README).
    public struct Settings: Sendable, Equatable {
        /// Rocchio's weight of the negatives' mean (0.75, the classic γ; 0.25 measured worse).
        public var negativeWeight: Float = 0.75
        /// Logistic regression's L2 strength (towards the prototype).
        public var l2: Double = 0.0005
        /// Share of the negative class's weight given to unlabelled archive samples (weak negatives).
        public var backgroundShare: Double = 0.35
        /// Gradient steps of the logistic fit.
        public var iterations = 300
        /// Unlabelled archive items drawn as weak negatives for the logistic fit.
        public var backgroundSize = 200

        public init() {}
    }

    /// The learner ``FeedbackLearner/auto`` stands for with this many labels.
    public static func resolve(_ learner: FeedbackLearner, negatives: Int) -> FeedbackLearner {
        guard learner == .auto else { return learner }
        return negatives == 0 ? .rocchio : .logistic
    }

    /// Learns a relevance model.
    /// - Parameters:
    ///   - positives: embeddings the analyst marked relevant (at least one; any length scale).
    ///   - negatives: embeddings marked not relevant.
    ///   - statistics: archive mean to centre on (nil: no centring).
    ///   - background: unlabelled archive embeddings used as weak negatives by the logistic learner.
    public static func fit(
        positives: [[Float]], negatives: [[Float]], learner: FeedbackLearner = .auto,
        statistics: ArchiveStatistics? = nil, background: [[Float]] = [],
        settings: Settings = Settings()
    ) -> RelevanceModel {
        precondition(!positives.isEmpty, "fit: at least one positive example is needed")
        let chosen = resolve(learner, negatives: negatives.count)
        let centre = statistics?.mean
        func prepared(_ v: [Float]) -> [Float] {
            let u = unit(v)
            guard let centre, centre.count == u.count else { return u }
            return zip(u, centre).map { $0 - $1 }
        }
        let pos = positives.map(prepared)
        let neg = negatives.map(prepared)
        let d = pos[0].count
        var prototype = mean(pos, dimensions: d)
        if !neg.isEmpty {
            let negativeMean = mean(neg, dimensions: d)
            for j in 0..<d { prototype[j] -= settings.negativeWeight * negativeMean[j] }
        }
        if chosen == .rocchio {
            return RelevanceModel(direction: prototype, scale: 1, bias: 0, learner: .rocchio)
        }
        let bg = background.map(prepared)
        let (w, b) = logistic(
            positives: pos, negatives: neg, background: bg, prior: unit(prototype),
            settings: settings)
        return logisticModel(direction: w, bias: b, centre: centre)
    }

    /// Folds centring into the bias: `w·(x − μ) + b = |w|·cos(w, x) + (b − w·μ)` for unit `x`.
    private static func logisticModel(direction w: [Float], bias: Float, centre: [Float]?) -> RelevanceModel {
        let norm = sqrt(w.reduce(0) { $0 + $1 * $1 })
        let shift = centre.map { Float(dot(w, $0)) } ?? 0
        return RelevanceModel(direction: w, scale: norm, bias: bias - shift, learner: .logistic)
    }

    /// Class-balanced L2-regularised logistic regression solved in the span of the examples (the
    /// representer form `w = Σ αᵢ xᵢ + w₀`): each step costs O(n²) after one Gram matrix, so a fit over a few
    /// hundred examples of any dimension takes milliseconds.
    static func logistic(
        positives: [[Float]], negatives: [[Float]], background: [[Float]], prior: [Float],
        settings: Settings
    ) -> (w: [Float], b: Float) {
        let examples = positives + negatives + background
        let n = examples.count
        let d = prior.count
        var labels = [Double](repeating: 1, count: positives.count)
        labels += [Double](repeating: -1, count: negatives.count + background.count)
        // Class balance: positives weigh 1/2 in all; the negative half is split between labelled negatives and
        // the weak background negatives (all of it to one side when the other is empty).
        var weights = [Double](repeating: 0.5 / Double(positives.count), count: positives.count)
        let bgShare = negatives.isEmpty ? 1 : (background.isEmpty ? 0 : settings.backgroundShare)
        weights += [Double](
            repeating: negatives.isEmpty ? 0 : 0.5 * (1 - bgShare) / Double(negatives.count),
            count: negatives.count)
        weights += [Double](
            repeating: background.isEmpty ? 0 : 0.5 * bgShare / Double(background.count),
            count: background.count)
        // Gram matrix and the prior's margins.
        var gram = [Double](repeating: 0, count: n * n)
        var priorDot = [Double](repeating: 0, count: n)
        for i in 0..<n {
            priorDot[i] = dot(examples[i], prior)
            for j in i..<n {
                let v = dot(examples[i], examples[j])
                gram[i * n + j] = v
                gram[j * n + i] = v
            }
        }
        // Smoothness of the weighted loss in w (weights sum to 1): 1/4 · max ‖x‖² + λ.
        let maxNorm = (0..<n).map { gram[$0 * n + $0] }.max() ?? 1
        let step = 1 / (0.25 * (maxNorm + 1) + settings.l2)
        var alpha = [Double](repeating: 0, count: n)
        var b = 0.0
        var velocityAlpha = alpha, velocityB = b
        var margins = [Double](repeating: 0, count: n)
        for iteration in 0..<settings.iterations {
            // Nesterov look-ahead point.
            let momentum = Double(iteration) / Double(iteration + 3)
            let lookAlpha = (0..<n).map { alpha[$0] + momentum * (alpha[$0] - velocityAlpha[$0]) }
            let lookB = b + momentum * (b - velocityB)
            for i in 0..<n {
                var m = priorDot[i] + lookB
                for j in 0..<n where lookAlpha[j] != 0 { m += gram[i * n + j] * lookAlpha[j] }
                margins[i] = m
            }
            var gradientB = 0.0
            var coefficient = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let z = labels[i] * margins[i]
                let g = -labels[i] * weights[i] / (1 + exp(z))  // d loss / d margin
                coefficient[i] = g
                gradientB += g
            }
            velocityAlpha = alpha
            velocityB = b
            // Gradient in w = Σ gᵢ xᵢ + λ (w − w₀) = Σ (gᵢ + λ αᵢ) xᵢ  (w − w₀ = Σ αᵢ xᵢ).
            for i in 0..<n { alpha[i] = lookAlpha[i] - step * (coefficient[i] + settings.l2 * lookAlpha[i]) }
            b = lookB - step * gradientB
        }
        var w = prior
        for i in 0..<n where alpha[i] != 0 {
            let a = Float(alpha[i])
            for j in 0..<d { w[j] += a * examples[i][j] }
        }
        return (w, Float(b))
    }

    /// `v` scaled to unit length (zero stays zero).
    public static func unit(_ v: [Float]) -> [Float] {
        let norm = sqrt(v.reduce(Float(0)) { $0 + $1 * $1 })
        return norm > 0 ? v.map { $0 / norm } : v
    }

    static func mean(_ rows: [[Float]], dimensions: Int) -> [Float] {
        var sum = [Float](repeating: 0, count: dimensions)
        for row in rows { for j in 0..<dimensions { sum[j] += row[j] } }
        let scale = 1 / Float(max(rows.count, 1))
        return sum.map { $0 * scale }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s: Float = 0
        for j in 0..<min(a.count, b.count) { s += a[j] * b[j] }
        return Double(s)
    }
}
