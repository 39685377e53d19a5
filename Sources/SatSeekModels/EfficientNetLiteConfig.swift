/// Architecture hyper-parameters of EfficientNet-Lite (Tan & Le 2019; the "lite" variants drop
/// squeeze-excitation, use ReLU6 and keep the stem and head unscaled).
public struct EfficientNetLiteConfig: Sendable, Equatable {
    /// One MBConv block as instantiated (after width/depth scaling).
    public struct Block: Sendable, Equatable {
        public let inChannels: Int
        public let outChannels: Int
        public let expandRatio: Int
        public let kernel: Int
        public let stride: Int

        public var expandedChannels: Int { inChannels * expandRatio }
        public var hasResidual: Bool { stride == 1 && inChannels == outChannels }
    }

    public let name: String
    public let widthCoefficient: Double
    public let depthCoefficient: Double
    public let resolution: Int
    public let batchNormEpsilon: Float = 1e-3
    public let stemChannels = 32
    public let headChannels = 1280
    public let classes = 1000

    public static let lite0 = EfficientNetLiteConfig(
        name: "effnet-lite0", widthCoefficient: 1.0, depthCoefficient: 1.0, resolution: 224)
    public static let lite1 = EfficientNetLiteConfig(
        name: "effnet-lite1", widthCoefficient: 1.0, depthCoefficient: 1.1, resolution: 240)
    public static let lite2 = EfficientNetLiteConfig(
        name: "effnet-lite2", widthCoefficient: 1.1, depthCoefficient: 1.2, resolution: 260)
    public static let all = [lite0, lite1, lite2]

    /// Stage table of EfficientNet-B0/Lite: (repeats, kernel, stride, expand, in, out).
    static let stages: [(repeats: Int, kernel: Int, stride: Int, expand: Int, input: Int, output: Int)] = [
        (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
        (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)
    ]

    /// Width scaling rounded to a multiple of 8, never more than 10 % below the scaled value
    /// (the TensorFlow reference's `round_filters`).
    func roundFilters(_ filters: Int) -> Int {
        let scaled = Double(filters) * widthCoefficient
        var rounded = max(8, Int(scaled + 4) / 8 * 8)
        if Double(rounded) < 0.9 * scaled { rounded += 8 }
        return rounded
    }

    /// Every block in order. Lite models keep the first and last stage's repeats unscaled and the
    /// first stage's input at 32 channels.
    public var blocks: [Block] {
        var blocks: [Block] = []
        for (index, stage) in Self.stages.enumerated() {
            let fixed = index == 0 || index == Self.stages.count - 1
            let repeats = fixed ? stage.repeats : Int((depthCoefficient * Double(stage.repeats)).rounded(.up))
            var input = index == 0 ? stemChannels : roundFilters(stage.input)
            let output = roundFilters(stage.output)
            var stride = stage.stride
            for _ in 0..<repeats {
                blocks.append(
                    Block(
                        inChannels: input, outChannels: output, expandRatio: stage.expand,
                        kernel: stage.kernel, stride: stride))
                input = output
                stride = 1
            }
        }
        return blocks
    }
}
