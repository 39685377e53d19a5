import SatSeekImaging
import SatSeekModels
import SatSeekTensor

/// Which transformed copies of a sketch query are embedded; a stored image's score is the best over them
/// (max pooling), so a sketch drawn rotated by a quarter turn or mirrored still finds its tiles.
public enum SketchRotations: String, Sendable, CaseIterable, Codable {
    /// The sketch as drawn.
    case none
    /// 0°, 90°, 180°, 270°.
    case quarterTurns
    /// The four quarter turns, each also mirrored (the 8 symmetries of the square).
    case dihedral

    /// `(quarter turns clockwise, mirrored)` of every copy; the identity comes first.
    public var transforms: [(quarterTurns: Int, mirrored: Bool)] {
        switch self {
        case .none: return [(0, false)]
        case .quarterTurns: return (0..<4).map { ($0, false) }
        case .dihedral: return (0..<4).map { ($0, false) } + (0..<4).map { ($0, true) }
        }
    }
}

/// The sketch-domain embedding shared by archive photographs and drawn sketches.
///
/// - Photograph: resize + centre-crop to the model's resolution → `EdgeDetector` → `SketchNormalizer`.
/// - Sketch: `SketchNormalizer` (binarise, crop, centre, canonical stroke width).
///
/// Both renderings — dark strokes of one width on white — go through the backbone, whose activations at
/// several depths (`MultiLevelSpec`, by default the ends of stages 2, 3, 5, 7 and the head) are pooled,
/// normalised per level and concatenated into one L2-normalised vector. No sketch data is used anywhere:
/// the two domains meet because both are reduced to the same kind of line drawing, and low- and mid-level
/// features (stroke orientation, corners, curves, junctions) carry most of what a line drawing has.
public struct SketchEmbedder: Sendable {
    /// The backbone.
    public let network: EfficientNetLite
    /// Levels, weights and pooling of the descriptor.
    public var spec: MultiLevelSpec
    /// Edge detector used for photographs.
    public var detector = EdgeDetector()
    /// Canonical rendering of lines (canvas = the model's input resolution).
    public var normalizer: SketchNormalizer

    /// - Parameters:
    ///   - network: An EfficientNet-Lite (the same one that builds the image embeddings).
    ///   - spec: The multi-level descriptor (default `.standard`).
    public init(network: EfficientNetLite, spec: MultiLevelSpec = .standard) {
        self.network = network
        self.spec = spec
        normalizer = SketchNormalizer(canvas: network.config.resolution)
    }

    /// The sketch embedder of an index's model.
    /// - Throws: `SketchError.unsupportedModel` when the model has no multi-level features.
    public init(model: any ImageEmbedder, spec: MultiLevelSpec = .standard) throws {
        guard let network = model as? EfficientNetLite else {
            throw SketchError.unsupportedModel(
                "sketch search needs an EfficientNet-Lite backbone; \(model.modelID) has no multi-level features")
        }
        self.init(network: network, spec: spec)
    }

    /// Length of a sketch-domain embedding.
    public var dimensions: Int { network.dimensions(of: spec) }

    /// The canonical line rendering of a photograph (a blank canvas when it has no edges at all).
    public func rendering(ofImage image: RGBImage) -> BinaryMask {
        let framed = Preprocessing(resolution: normalizer.canvas).resizedAndCropped(image)
        let edges = detector.edges(framed)
        return (try? normalizer.normalize(edges)) ?? BinaryMask(width: normalizer.canvas, height: normalizer.canvas)
    }

    /// The canonical line rendering of a drawn sketch.
    /// - Throws: `SketchError.empty` for a blank drawing.
    public func rendering(ofSketch sketch: RGBImage) throws -> BinaryMask {
        try normalizer.normalize(sketch: sketch)
    }

    /// Embeds canonical renderings (each `canvas × canvas`) as one batch.
    /// - Returns: `masks.count × dimensions` floats, rows L2-normalised.
    public func embed(renderings masks: [BinaryMask]) -> [Float] {
        guard !masks.isEmpty else { return [] }
        let batch = inputBatch(count: masks.count) { masks[$0].rendered() }
        return batch.withUnsafeBufferPointer { network.multiLevelEmbed($0, count: masks.count, spec: spec) }
    }

    /// The network's input tensors of `count` images (`image(i)` called on all cores), back to back.
    func inputBatch(count: Int, image: (Int) -> RGBImage) -> [Float] {
        let preprocessing = network.preprocessing
        let per = network.inputCount
        var batch = [Float](repeating: 0, count: count * per)
        batch.withUnsafeMutableBufferPointer { buffer in
            let box = UncheckedSendableBox(buffer)
            parallelChunks(count, threads: defaultThreadCount) { range in
                for i in range {
                    preprocessing.write(
                        image(i), into: UnsafeMutableBufferPointer(rebasing: box.value[(i * per)..<((i + 1) * per)]))
                }
            }
        }
        return batch
    }

    /// Sketch-domain embeddings of archive photographs (edge rendering computed on all cores).
    /// - Returns: `images.count × dimensions` floats.
    public func embed(images: [RGBImage]) -> [Float] {
        var masks = [BinaryMask?](repeating: nil, count: images.count)
        masks.withUnsafeMutableBufferPointer { buffer in
            let box = UncheckedSendableBox(buffer)
            parallelChunks(images.count, threads: defaultThreadCount) { range in
                for i in range { box.value[i] = rendering(ofImage: images[i]) }
            }
        }
        return embed(renderings: masks.map { $0! })
    }

    /// Embeddings of a rendered sketch and its transformed copies.
    /// - Returns: `rotations.transforms.count × dimensions` floats, the untransformed sketch first.
    public func embed(sketchRendering mask: BinaryMask, rotations: SketchRotations) -> [Float] {
        embed(
            renderings: rotations.transforms.map {
                mask.transformed(quarterTurns: $0.quarterTurns, mirrored: $0.mirrored)
            })
    }

    /// Embeddings of a drawn sketch and its transformed copies (see `embed(sketchRendering:rotations:)`).
    /// - Throws: `SketchError.empty` for a blank drawing.
    public func embed(sketch: RGBImage, rotations: SketchRotations = .dihedral) throws -> [Float] {
        embed(sketchRendering: try rendering(ofSketch: sketch), rotations: rotations)
    }
}
