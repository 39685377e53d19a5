import Foundation

/// What a head's last layer produces.
public enum HeadOutput: String, Sendable, Codable {
    /// `tanh` activations in (−1, 1) trained towards ±1; the binary code is their sign.
    case codes
    /// A linear layer followed by L2 normalisation: a float metric embedding compared by cosine.
    case float
}

/// Layer sizes and output kind of an ``MLPHead``.
public struct HeadArchitecture: Sendable, Codable, Equatable {
    /// Length of the backbone embedding fed to the head.
    public var inputDimensions: Int
    /// Widths of the hidden layers (each followed by ReLU), e.g. `[512, 256]`.
    public var hiddenSizes: [Int]
    /// Number of bits (``HeadOutput/codes``) or embedding dimensions (``HeadOutput/float``).
    public var outputDimensions: Int
    /// Codes (tanh) or a float embedding (L2-normalised).
    public var output: HeadOutput

    /// An architecture; see ``validate()``.
    public init(inputDimensions: Int, hiddenSizes: [Int], outputDimensions: Int, output: HeadOutput) {
        self.inputDimensions = inputDimensions
        self.hiddenSizes = hiddenSizes
        self.outputDimensions = outputDimensions
        self.output = output
    }

    /// Widest layer a head may have (a ViT-H embedding is 1 280 wide; this leaves room and rules out overflow).
    public static let maximumLayerSize = 1 << 16

    /// `[input, hidden…, output]`.
    public var layerSizes: [Int] { [inputDimensions] + hiddenSizes + [outputDimensions] }

    /// Number of trainable floats.
    public var parameterCount: Int {
        zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    }

    /// Throws when a size is not positive.
    public func validate() throws {
        guard layerSizes.allSatisfy({ $0 > 0 }) else {
            throw LearningError.invalidConfiguration(
                "every layer size must be positive (got \(layerSizes.map(String.init).joined(separator: "→")))")
        }
        // Bounded so that the parameter count (and its byte size) cannot overflow whatever a head file declares.
        guard layerSizes.allSatisfy({ $0 <= Self.maximumLayerSize }), hiddenSizes.count <= 64 else {
            throw LearningError.invalidConfiguration(
                "layers are limited to \(Self.maximumLayerSize) units and 64 hidden "
                    + "layers (got \(layerSizes.count) layers, widest \(layerSizes.max() ?? 0))")
        }
    }
}

/// Everything the backward pass of an ``MLPHead`` needs from its forward pass.
public struct HeadTrace: Sendable {
    /// Input of each dense layer (the batch, then each hidden activation).
    public var layerInputs: [Matrix]
    /// Output of each dense layer before its activation.
    public var preActivations: [Matrix]
    /// The head's output (tanh activations or normalised embeddings).
    public var output: Matrix
    /// Row norms before normalisation (``HeadOutput/float`` only).
    public var norms: [Float]
}

/// A small multi-layer perceptron on top of frozen backbone features:
/// `Dense → ReLU → … → Dense → (tanh | L2-normalise)`, trained with hand-written reverse-mode gradients.
public struct MLPHead: Sendable, Equatable {
    /// Layer sizes and output kind.
    public let architecture: HeadArchitecture
    /// The dense layers, input first.
    public var layers: [DenseLayer]

    /// A head with given layers (sizes must match the architecture).
    public init(architecture: HeadArchitecture, layers: [DenseLayer]) throws {
        try architecture.validate()
        let sizes = architecture.layerSizes
        guard layers.count == sizes.count - 1,
            zip(layers, zip(sizes, sizes.dropFirst())).allSatisfy({ $0.inputs == $1.0 && $0.outputs == $1.1 })
        else {
            throw LearningError.invalidConfiguration(
                "layers do not match sizes \(sizes.map(String.init).joined(separator: "→"))")
        }
        self.architecture = architecture
        self.layers = layers
    }

    /// A randomly initialised head (He initialisation before ReLUs, unit gain for the last layer).
    public init(architecture: HeadArchitecture, random: inout RandomSource) throws {
        try architecture.validate()
        let sizes = architecture.layerSizes
        var layers: [DenseLayer] = []
        for i in 0..<(sizes.count - 1) {
            let last = i == sizes.count - 2
            layers.append(
                DenseLayer(
                    inputs: sizes[i], outputs: sizes[i + 1], gain: last ? 1 : Float(2).squareRoot(),
                    random: &random))
        }
        try self.init(architecture: architecture, layers: layers)
    }

    /// Activation after dense layer `index`.
    func activation(after index: Int) -> ElementActivation {
        if index < layers.count - 1 { return .relu }
        return architecture.output == .codes ? .tanh : .identity
    }

    /// Forward pass keeping what ``backward(_:outputGradient:)`` needs.
    public func forwardTrace(_ x: Matrix) -> HeadTrace {
        var inputs: [Matrix] = []
        var pre: [Matrix] = []
        var current = x
        for (i, layer) in layers.enumerated() {
            inputs.append(current)
            let z = layer.forward(current)
            pre.append(z)
            current = activation(after: i).forward(z)
        }
        var norms: [Float] = []
        if architecture.output == .float {
            (current, norms) = RowNormalization.forward(current)
        }
        return HeadTrace(layerInputs: inputs, preActivations: pre, output: current, norms: norms)
    }

    /// Parameter gradients, one per layer, from `∂L/∂output`.
    public func backward(_ trace: HeadTrace, outputGradient: Matrix) -> [DenseGradient] {
        var gradient = outputGradient
        if architecture.output == .float {
            gradient = RowNormalization.backward(output: trace.output, norms: trace.norms, outputGradient: gradient)
        }
        var result = [DenseGradient?](repeating: nil, count: layers.count)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            // Only tanh's derivative uses the activated output; ReLU and identity read the input alone.
            let activated =
                i == layers.count - 1 && architecture.output == .codes
                ? trace.output
                : trace.preActivations[i]
            gradient = activation(after: i).backward(
                input: trace.preActivations[i], output: activated,
                outputGradient: gradient)
            let step = layers[i].backward(
                input: trace.layerInputs[i], outputGradient: gradient, needInputGradient: i > 0)
            result[i] = step.parameters
            if let input = step.input { gradient = input }
        }
        return result.map { $0! }
    }

    /// Inference: `count` backbone embeddings (row-major) → `count × outputDimensions` head outputs
    /// (tanh activations for codes, unit vectors for float embeddings). Processed in blocks to bound memory.
    public func embed(_ features: [Float], count: Int) -> [Float] {
        let dims = architecture.inputDimensions
        precondition(features.count == count * dims, "head expects \(count) × \(dims) floats, got \(features.count)")
        var output: [Float] = []
        output.reserveCapacity(count * architecture.outputDimensions)
        let block = 1024
        var start = 0
        while start < count {
            let rows = min(block, count - start)
            var x = Matrix(rows: rows, columns: dims, values: Array(features[(start * dims)..<((start + rows) * dims)]))
            for (i, layer) in layers.enumerated() { x = activation(after: i).forward(layer.forward(x)) }
            if architecture.output == .float { x = RowNormalization.forward(x).output }
            output.append(contentsOf: x.values)
            start += rows
        }
        return output
    }
}
