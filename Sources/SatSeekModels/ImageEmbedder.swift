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
    /// Embeds a stream of images whose input tensors are written on demand, with no pause between batches:
    /// tickets 0, 1, 2, … are handed out in order, `prepare(ticket, input)` fills that image's tensor
    /// (`inputCount` floats) and returns `true`, returns `false` when it cannot (an undecodable file: nothing
    /// is delivered for it) or `nil` once the stream has ended (then for every later ticket too), and
    /// `deliver(ticket, embedding)` receives each prepared image's L2-normalised embedding. Both may be
    /// called concurrently from the model's workers; models that run each image on one worker call
    /// `prepare` on that worker right before the image's network pass, so decoding takes its own time on
    /// the same core. Returns once the end has been seen and every delivery made.
    func embedStream(
        prepare: (_ ticket: Int, _ input: UnsafeMutableBufferPointer<Float>) -> Bool?,
        deliver: (_ ticket: Int, _ embedding: UnsafeBufferPointer<Float>) -> Void)
}

extension ImageEmbedder {
    public func embed(_ inputs: UnsafeBufferPointer<Float>, count: Int, profile: LayerProfile?) -> [Float] {
        embed(inputs, count: count)
    }

    /// Claims tickets in groups of 32, prepares a group's inputs on all cores, then embeds them
    /// as one batch (models without a per-image worker path).
    public func embedStream(
        prepare: (_ ticket: Int, _ input: UnsafeMutableBufferPointer<Float>) -> Bool?,
        deliver: (_ ticket: Int, _ embedding: UnsafeBufferPointer<Float>) -> Void
    ) {
        let per = inputCount, group = 32
        var inputs = [Float](repeating: 0, count: group * per)
        var first = 0
        while true {
            // nil: past the end; the group's images are the tickets before the first nil.
            var prepared = [Bool?](repeating: nil, count: group)
            inputs.withUnsafeMutableBufferPointer { buffer in
                prepared.withUnsafeMutableBufferPointer { flags in
                    let box = UncheckedSendableBox((buffer, flags))
                    parallelClaims(group, threads: defaultThreadCount) { next in
                        let (buffer, flags) = box.value
                        while let i = next() {
                            flags[i] = prepare(
                                first + i, UnsafeMutableBufferPointer(rebasing: buffer[(i * per)..<((i + 1) * per)]))
                        }
                    }
                }
            }
            let count = prepared.firstIndex(of: nil) ?? group
            if count == 0 { return }
            let output = inputs.withUnsafeBufferPointer {
                embed(UnsafeBufferPointer(rebasing: $0[0..<(count * per)]), count: count)
            }
            output.withUnsafeBufferPointer { rows in
                for i in 0..<count where prepared[i] == true {
                    deliver(first + i, UnsafeBufferPointer(rebasing: rows[(i * dimensions)..<((i + 1) * dimensions)]))
                }
            }
            if count < group { return }
            first += group
        }
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

/// An image model whose pooled features also feed an ImageNet-1k classifier (EfficientNet-Lite's `_fc`, a
/// torchvision ResNet checkpoint's `fc`): the classifier is applied to the pooled, unnormalised features.
public protocol ImageNetClassifying: ImageEmbedder {
    /// The 1 000-way classifier, or nil when the checkpoint has none.
    var imageNetClassifier: Linear? { get }
}
