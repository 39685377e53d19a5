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
    /// Embeds `count` images whose input tensors are written on demand: `prepare(i, input)` fills image
    /// `i`'s tensor (`inputCount` floats) or returns `false` when it cannot (an undecodable file: its row
    /// of the result stays zero). Models that run each image on one worker call it on that worker right
    /// before the image's network pass, so decoding takes its own time on the same core and never competes
    /// with the network for one.
    func embed(count: Int, prepare: (_ index: Int, _ input: UnsafeMutableBufferPointer<Float>) -> Bool) -> [Float]
}

extension ImageEmbedder {
    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int, profile: LayerProfile?) -> [Float] {
        embed(inputs, count: count)
    }

    /// Prepares every input on all cores, then embeds them as one batch.
    public func embed(count: Int, prepare: (_ index: Int, _ input: UnsafeMutableBufferPointer<Float>) -> Bool) -> [Float] {
        let per = inputCount
        var inputs = [Float](repeating: 0, count: count * per)
        var prepared = [Bool](repeating: false, count: count)
        inputs.withUnsafeMutableBufferPointer { buffer in
            prepared.withUnsafeMutableBufferPointer { flags in
                let box = UncheckedSendableBox((buffer, flags))
                parallelClaims(count, threads: defaultThreadCount) { next in
                    let (buffer, flags) = box.value
                    while let i = next() {
                        flags[i] = prepare(i, UnsafeMutableBufferPointer(rebasing: buffer[(i * per)..<((i + 1) * per)]))
                    }
                }
            }
        }
        var output = inputs.withUnsafeBufferPointer { embed($0, count: count) }
        for i in 0..<count where !prepared[i] {
            output.replaceSubrange((i * dimensions)..<((i + 1) * dimensions), with: repeatElement(0, count: dimensions))
        }
        return output
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
