import SatSeekImaging
import SatSeekTensor

/// A network that turns preprocessed images into fixed-length, L2-normalised embedding vectors.
public protocol ImageEmbedder: Sendable {
    /// Identifies the architecture *and* the weights; an index built by one model id can only be searched
    /// with the same id.
    var modelID: String { get }
    /// Length of each embedding.
    var dimensions: Int { get }
    /// How a decoded image becomes this model's input tensor.
    var preprocessing: Preprocessing { get }
    /// Embeds `count` images stored back to back as CHW float tensors (`preprocessing`'s layout).
    /// - Returns: `count × dimensions` floats, each row L2-normalised.
    func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int) -> [Float]
    /// `embed(_:count:)` that also records time per operation kind (models without profiling ignore it).
    func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int, profile: LayerProfile?) -> [Float]
}

extension ImageEmbedder {
    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int, profile: LayerProfile?) -> [Float] {
        embed(inputs, count: count)
    }

    /// Floats in one preprocessed input image.
    public var inputCount: Int { 3 * preprocessing.resolution * preprocessing.resolution }

    /// Decodes nothing: preprocesses already-decoded images and embeds them as one batch.
    public func embed(images: [RGBImage]) -> [Float] {
        var batch = [Float](repeating: 0, count: images.count * inputCount)
        batch.withUnsafeMutableBufferPointer { buffer in
            for (i, image) in images.enumerated() {
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[(i * inputCount)..<((i + 1) * inputCount)])
                preprocessing.write(image, into: slice)
            }
        }
        return batch.withUnsafeBufferPointer { embed($0, count: images.count) }
    }
}
