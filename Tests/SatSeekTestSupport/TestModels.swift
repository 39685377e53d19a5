import SatSeekImaging
import SatSeekModels

/// A weight-free image model for tests that need embeddings but not a network: each image becomes its three
/// channel means (8×8 input), shifted and L2-normalised. It has no `embedStream` of its own, so the protocol's
/// default (groups of 32) runs.
public struct ChannelMeans: ImageEmbedder {
    public let modelID = "channel-means"
    public let dimensions = 3
    public let preprocessing = Preprocessing(resolution: 8)

    public init() {}

    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        (0..<count).flatMap { i in
            let means = (0..<3).map { c in (0..<64).reduce(Float(0)) { $0 + inputs[i * 192 + c * 64 + $1] } / 64 + 3 }
            let norm = means.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return means.map { $0 / norm }
        }
    }
}
