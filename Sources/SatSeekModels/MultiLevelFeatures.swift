import SatSeekTensor

/// A point in EfficientNet-Lite where activations can be pooled into a descriptor.
public enum FeatureLevel: Hashable, Sendable, CustomStringConvertible {
    /// The output of the last block of stage `n` (1…7, EfficientNet's stage numbering: stage 1 is the
    /// 16-channel block after the stem, stage 7 the 320-channel one).
    case stage(Int)
    /// The 1280-channel head convolution (the layer the ordinary image embedding pools).
    case head

    /// `stageN` or `head`.
    public var description: String {
        switch self {
        case .stage(let n): return "stage\(n)"
        case .head: return "head"
        }
    }
}

/// How a level's `C × H × W` activation becomes `C` numbers.
public enum FeaturePooling: String, Sendable, CaseIterable {
    /// Global average pooling.
    case average
    /// Global max pooling (responds to a pattern present anywhere, however small its area).
    case max
}

/// Which levels to pool, with what weight, and how.
///
/// Each level's pooled vector is L2-normalised, multiplied by its weight and the levels are
/// concatenated; the result is L2-normalised again, so with equal weights every level contributes the
/// same share of the cosine similarity regardless of its channel count.
public struct MultiLevelSpec: Sendable, Equatable {
    /// Levels, in output order.
    public var levels: [FeatureLevel]
    /// Weight of each level after its L2 normalisation.
    public var weights: [Float]
    /// Spatial pooling at every level.
    public var pooling: FeaturePooling

    /// - Parameters:
    ///   - levels: Levels in output order (each at most once).
    ///   - weights: One per level (default: all 1).
    ///   - pooling: Spatial pooling applied at every level.
    public init(levels: [FeatureLevel], weights: [Float]? = nil, pooling: FeaturePooling = .average) {
        precondition(
            !levels.isEmpty && Set(levels).count == levels.count,
            "MultiLevelSpec: levels must be distinct and non-empty")
        let weights = weights ?? Array(repeating: 1, count: levels.count)
        precondition(weights.count == levels.count, "MultiLevelSpec: one weight per level")
        self.levels = levels
        self.weights = weights
        self.pooling = pooling
    }

    /// Ends of stages 2, 3, 5, 7 and the head: edges and corners (stride 4), simple parts (8), object
    /// parts (16), and the two most semantic levels (32).
    public static let standard = MultiLevelSpec(levels: [.stage(2), .stage(3), .stage(5), .stage(7), .head])
}

extension EfficientNetLite {
    /// Index of the last block of each stage 1…7 (a stage ends where the output channel count changes).
    public var stageEndBlocks: [Int] {
        let blocks = config.blocks
        return blocks.indices.filter { i in i == blocks.count - 1 || blocks[i + 1].outChannels != blocks[i].outChannels
        }
    }

    /// Channel count of one level.
    public func channels(of level: FeatureLevel) -> Int {
        switch level {
        case .head: return config.headChannels
        case .stage(let n):
            let ends = stageEndBlocks
            precondition((1...ends.count).contains(n), "no stage \(n) in \(config.name) (1…\(ends.count))")
            return config.blocks[ends[n - 1]].outChannels
        }
    }

    /// Length of one multi-level descriptor.
    public func dimensions(of spec: MultiLevelSpec) -> Int {
        spec.levels.reduce(0) { $0 + channels(of: $1) }
    }

    /// Multi-level descriptors of a batch of preprocessed images (`preprocessing`'s CHW layout, back to
    /// back): for every level of `spec`, the activation is pooled over space, L2-normalised and weighted;
    /// the levels are concatenated in `spec.levels` order and the whole row is L2-normalised.
    /// - Returns: `count × dimensions(of: spec)` floats.
    public func multiLevelEmbed(_ inputs: UnsafeBufferPointer<Float>, count: Int, spec: MultiLevelSpec) -> [Float] {
        precondition(inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
        // Trace name → (offset in the row, weight).
        let ends = stageEndBlocks
        var slots: [String: (offset: Int, weight: Float)] = [:]
        var offset = 0
        for (level, weight) in zip(spec.levels, spec.weights) {
            let name: String
            switch level {
            case .head: name = "head"
            case .stage(let n):
                precondition((1...ends.count).contains(n), "no stage \(n) in \(config.name) (1…\(ends.count))")
                name = "blocks.\(ends[n - 1])"
            }
            slots[name] = (offset, weight)
            offset += channels(of: level)
        }
        let width = offset
        let pooling = spec.pooling
        var output = [Float](repeating: 0, count: count * width)
        output.withUnsafeMutableBufferPointer { out in
            let outBase = UncheckedSendableBox(out.baseAddress!)
            forEachImage(count: count) { i, workspace, threads in
                let headPooled = UnsafeMutablePointer<Float>.allocate(capacity: config.headChannels)
                defer { headPooled.deallocate() }
                let row = outBase.value + i * width
                features(
                    inputs.baseAddress! + i * inputCount, into: headPooled, workspace: workspace,
                    threads: threads,
                    trace: { name, channels, height, width, activation in
                        guard let slot = slots[name] else { return }
                        let target = row + slot.offset
                        switch pooling {
                        case .average:
                            globalAveragePool(activation, channels: channels, plane: height * width, output: target)
                        case .max:
                            globalMaxPool(activation, channels: channels, plane: height * width, output: target)
                        }
                        let vector = UnsafeMutableBufferPointer(start: target, count: channels)
                        l2Normalize(vector)
                        if slot.weight != 1 { for c in vector.indices { vector[c] *= slot.weight } }
                    })
                l2Normalize(UnsafeMutableBufferPointer(start: row, count: width))
            }
        }
        return output
    }
}

/// Maximum over each channel's plane: `channels × plane` → `channels`.
func globalMaxPool(_ input: UnsafePointer<Float>, channels: Int, plane: Int, output: UnsafeMutablePointer<Float>) {
    for c in 0..<channels {
        let row = input + c * plane
        var best = -Float.infinity
        for i in 0..<plane where row[i] > best { best = row[i] }
        output[c] = plane > 0 ? best : 0
    }
}
