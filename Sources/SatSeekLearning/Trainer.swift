import Foundation

/// Everything that determines a training run (stored in the head file).
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// Widths of the hidden layers.
    public var hiddenSizes: [Int] = [512, 256]
    /// Code length in bits (or embedding size for a float head).
    public var bits: Int = 32
    /// Binary codes (tanh + push/balance losses) or a float metric embedding (L2-normalised, cosine).
    public var output: HeadOutput = .codes
    /// Passes over (about) the training set.
    public var epochs: Int = 40
    /// P: classes in every batch (fewer when the data has fewer classes).
    public var classesPerBatch: Int = 16
    /// K: images of each class in every batch.
    public var imagesPerClass: Int = 4
    /// Batches per epoch; `nil` = enough to see about every training image once.
    public var batchesPerEpoch: Int?
    /// Peak Adam learning rate.
    public var learningRate: Float = 3e-3
    /// Decoupled (AdamW) weight decay on the weight matrices.
    public var weightDecay: Float = 1e-4
    /// Fraction of the learning rate left at the end of the cosine schedule.
    public var finalLearningRateFraction: Float = 0.1
    /// Triplet margin on distances scaled to [0, 4] (`‖a−b‖²/bits` for codes, `‖a−b‖²` for unit vectors).
    public var margin: Float = 1.0
    /// Triplet mining strategy.
    public var mining: TripletMining = .semiHard
    /// Weight of the push-to-binary term (codes only).
    public var pushWeight: Float = 0.1
    /// Weight of the bit-balance term (codes only).
    public var balanceWeight: Float = 0.1
    /// Seed of initialisation and batch order.
    public var seed: UInt64 = 7

    /// The defaults (chosen on rsscn7-mini and aid-mini splits with seeds 1 and 2).
    public init() {}

    /// Throws on sizes or rates that cannot train.
    public func validate() throws {
        func fail(_ message: String) -> LearningError { .invalidConfiguration(message) }
        guard bits > 0, hiddenSizes.allSatisfy({ $0 > 0 }) else { throw fail("bits and hidden sizes must be positive") }
        guard epochs >= 0 else { throw fail("epochs must not be negative") }
        guard classesPerBatch >= 2 else { throw fail("a batch needs at least 2 classes (got \(classesPerBatch))") }
        guard imagesPerClass >= 2 else {
            throw fail("a batch needs at least 2 images per class (got \(imagesPerClass))")
        }
        guard (batchesPerEpoch ?? 1) > 0 else { throw fail("batches per epoch must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("learning rate must be positive") }
        guard weightDecay >= 0, margin >= 0, pushWeight >= 0, balanceWeight >= 0 else {
            throw fail("weight decay, margin and loss weights must not be negative")
        }
        guard (0...1).contains(finalLearningRateFraction) else {
            throw fail("final learning-rate fraction must be in [0, 1]")
        }
    }

    /// The objective this configuration trains (push and balance only for codes).
    public var objective: HashingObjective {
        let codes = output == .codes
        return HashingObjective(
            triplet: TripletLoss(margin: margin, mining: mining, distanceScale: codes ? 1 / Float(bits) : 1),
            pushWeight: codes ? pushWeight : 0, balanceWeight: codes ? balanceWeight : 0)
    }
}

/// What one epoch did.
public struct EpochSummary: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Total epochs of the run.
    public var epochs: Int
    /// Loss terms averaged over the epoch's batches.
    public var terms: ObjectiveTerms
    /// Learning rate at the end of the epoch.
    public var learningRate: Float
    /// Training images processed in this epoch (batches × batch size).
    public var images: Int
    /// Seconds since training started.
    public var elapsed: Double
}

/// Draws class-balanced batches (P classes × K images) in a reproducible order.
///
/// Classes and the images of each class are visited in seeded shuffled order, cycling and reshuffling
/// when exhausted, so over an epoch every class and image is seen about equally often. Classes with
/// fewer than two images give no positive pair and are left out.
public struct ClassBalancedSampler: Sendable {
    /// P, capped at the number of usable classes.
    public let classesPerBatch: Int
    /// K (fewer for classes with fewer images).
    public let imagesPerClass: Int
    private var members: [[Int]]
    private var memberCursor: [Int]
    private var classOrder: [Int]
    private var classCursor = 0
    private var random: RandomSource

    /// - Throws: when fewer than two classes have two or more examples.
    public init(labels: [Int], classesPerBatch: Int, imagesPerClass: Int, random: RandomSource) throws {
        var byClass: [Int: [Int]] = [:]
        for (i, label) in labels.enumerated() { byClass[label, default: []].append(i) }
        members = byClass.keys.sorted().compactMap { byClass[$0]!.count >= 2 ? byClass[$0]! : nil }
        guard members.count >= 2 else {
            throw LearningError.invalidConfiguration(
                "training needs at least 2 classes with 2 or more images each (found \(members.count))")
        }
        self.classesPerBatch = min(classesPerBatch, members.count)
        self.imagesPerClass = imagesPerClass
        self.random = random
        memberCursor = [Int](repeating: 0, count: members.count)
        for c in members.indices { self.random.shuffle(&members[c]) }
        classOrder = Array(members.indices)
        self.random.shuffle(&classOrder)
    }

    /// Takes `count` distinct items from a cyclic, reshuffled-when-exhausted queue.
    private static func take(
        _ count: Int, from queue: inout [Int], cursor: inout Int, random: inout RandomSource
    ) -> [Int] {
        var chosen: [Int] = []
        var seen = Set<Int>()
        let wanted = min(count, queue.count)
        while chosen.count < wanted {
            if cursor == queue.count {
                random.shuffle(&queue)
                cursor = 0
            }
            let item = queue[cursor]
            cursor += 1
            if seen.insert(item).inserted { chosen.append(item) }
        }
        return chosen
    }

    /// Example indices of the next batch, grouped by class.
    public mutating func nextBatch() -> [Int] {
        let classes = Self.take(classesPerBatch, from: &classOrder, cursor: &classCursor, random: &random)
        var batch: [Int] = []
        for c in classes {
            batch += Self.take(imagesPerClass, from: &members[c], cursor: &memberCursor[c], random: &random)
        }
        return batch
    }
}

/// Trains an ``MLPHead`` on frozen features with the hashing objective, Adam(W) and a cosine learning-rate
/// schedule. Deterministic: the same data, configuration and seed give the same head bit for bit.
public enum Trainer {
    /// - Parameters:
    ///   - features: `labels.count × dimensions` backbone embeddings, row-major.
    ///   - labels: Class index of every row.
    ///   - onEpoch: Called after every epoch with its summary and the current head (e.g. for held-out mAP);
    ///     throwing stops training.
    /// - Returns: The trained head and the per-epoch history.
    public static func train(
        features: [Float], labels: [Int], dimensions: Int, configuration: TrainingConfiguration,
        onEpoch: (EpochSummary, MLPHead) throws -> Void = { _, _ in }
    )
        throws -> (head: MLPHead, history: [EpochSummary])
    {
        try configuration.validate()
        guard dimensions > 0, features.count == labels.count * dimensions else {
            throw LearningError.invalidConfiguration(
                "expected \(labels.count) × \(dimensions) features, got \(features.count) floats")
        }
        // Backbone embeddings are tiny per dimension (unit vectors in 1280-d): train on z-scored inputs and
        // fold the standardisation into the first layer of every head handed out.
        let standardizer = Standardizer(features: features, dimensions: dimensions)
        let inputs = standardizer.apply(features)
        var random = RandomSource(seed: configuration.seed)
        let architecture = HeadArchitecture(
            inputDimensions: dimensions, hiddenSizes: configuration.hiddenSizes,
            outputDimensions: configuration.bits, output: configuration.output)
        var head = try MLPHead(architecture: architecture, random: &random)
        var sampler = try ClassBalancedSampler(
            labels: labels, classesPerBatch: configuration.classesPerBatch,
            imagesPerClass: configuration.imagesPerClass,
            random: RandomSource(seed: random.next()))
        let batchSize = sampler.classesPerBatch * configuration.imagesPerClass
        let batches = configuration.batchesPerEpoch ?? max(1, (labels.count + batchSize - 1) / batchSize)
        let totalSteps = max(1, batches * configuration.epochs)
        let objective = configuration.objective
        var adam = AdamOptimizer(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        var history: [EpochSummary] = []
        let start = Date()

        for epoch in stride(from: 1, through: configuration.epochs, by: 1) {
            var sum = ObjectiveTerms()
            var images = 0
            for _ in 0..<batches {
                let progress = Float(adam.step) / Float(totalSteps)
                let floor = configuration.finalLearningRateFraction
                adam.learningRate =
                    configuration.learningRate * (floor + (1 - floor) * 0.5 * (1 + cos(Float.pi * progress)))
                let batch = sampler.nextBatch()
                var x = Matrix(rows: batch.count, columns: dimensions)
                inputs.withUnsafeBufferPointer { source in
                    x.values.withUnsafeMutableBufferPointer { target in
                        for (row, i) in batch.enumerated() {
                            (target.baseAddress! + row * dimensions).update(
                                from: source.baseAddress! + i * dimensions,
                                count: dimensions)
                        }
                    }
                }
                let trace = head.forwardTrace(x)
                let (terms, gradient) = objective.evaluate(trace.output, labels: batch.map { labels[$0] })
                let gradients = head.backward(trace, outputGradient: gradient)
                adam.beginStep()
                for i in head.layers.indices {
                    adam.update(&head.layers[i].weight, gradient: gradients[i].weight, slot: 2 * i, decay: true)
                    adam.update(&head.layers[i].bias, gradient: gradients[i].bias, slot: 2 * i + 1, decay: false)
                }
                sum.total += terms.total
                sum.triplet += terms.triplet
                sum.push += terms.push
                sum.balance += terms.balance
                sum.activeFraction += terms.activeFraction
                images += batch.count
            }
            let n = Float(batches)
            let mean = ObjectiveTerms(
                total: sum.total / n, triplet: sum.triplet / n, push: sum.push / n,
                balance: sum.balance / n, activeFraction: sum.activeFraction / n)
            guard mean.total.isFinite else {
                throw LearningError.diverged("loss became \(mean.total) in epoch \(epoch); lower the learning rate")
            }
            let summary = EpochSummary(
                epoch: epoch, epochs: configuration.epochs, terms: mean,
                learningRate: adam.learningRate, images: images,
                elapsed: Date().timeIntervalSince(start))
            history.append(summary)
            try onEpoch(summary, standardizer.fold(into: head))
        }
        return (standardizer.fold(into: head), history)
    }
}

/// Per-dimension z-scoring `(x − μ) / σ` with training-set statistics, foldable into a following dense layer:
/// `W (x − μ)/σ + b = (W / σ) x + (b − W (μ/σ))`, so a trained head takes raw backbone embeddings.
public struct Standardizer: Sendable {
    /// Per-dimension mean μ.
    public let mean: [Float]
    /// Per-dimension standard deviation σ (floored).
    public let scale: [Float]

    /// Statistics of `features` (`count × dimensions`); σ is floored at 1e-3 of the mean σ so that constant
    /// dimensions are not blown up.
    public init(features: [Float], dimensions: Int) {
        let count = max(1, features.count / dimensions)
        var mean = [Double](repeating: 0, count: dimensions)
        var square = [Double](repeating: 0, count: dimensions)
        for row in 0..<(features.count / dimensions) {
            for j in 0..<dimensions {
                let v = Double(features[row * dimensions + j])
                mean[j] += v
                square[j] += v * v
            }
        }
        let sigma = (0..<dimensions).map { j -> Double in
            let m = mean[j] / Double(count)
            return max(0, square[j] / Double(count) - m * m).squareRoot()
        }
        let floor = max(1e-12, 1e-3 * sigma.reduce(0, +) / Double(max(1, dimensions)))
        self.mean = mean.map { Float($0 / Double(count)) }
        scale = sigma.map { Float(max($0, floor)) }
    }

    /// `(x − μ) / σ` for every row.
    public func apply(_ features: [Float]) -> [Float] {
        let d = mean.count
        var out = features
        for i in out.indices { out[i] = (out[i] - mean[i % d]) / scale[i % d] }
        return out
    }

    /// The head with the standardisation folded into its first layer.
    public func fold(into head: MLPHead) -> MLPHead {
        var folded = head
        var first = folded.layers[0]
        let inputs = first.inputs
        for o in 0..<first.outputs {
            var shift: Float = 0
            for j in 0..<inputs {
                let w = first.weight[o * inputs + j] / scale[j]
                first.weight[o * inputs + j] = w
                shift += w * mean[j]
            }
            first.bias[o] -= shift
        }
        folded.layers[0] = first
        return folded
    }
}
