import SatSeekImaging
import SatSeekModels
import SatSeekRandom
import SatSeekTensor

/// (sketch, window) training pairs drawn from unlabelled photographs.
public struct SketchTrainingPairs: Sendable {
    /// Multi-level descriptors of the drawings, `count × sketchDimensions`.
    public var sketches: [Float] = []
    /// Pooled head features of the windows the drawings were made from, `count × regionDimensions`.
    public var regions: [Float] = []
    /// Index of the photograph each pair came from.
    public var group: [Int] = []
    /// Windows whose drawing came out blank (no edges) and were left out.
    public var blank = 0

    public init() {}

    /// Number of pairs.
    public var count: Int { group.count }
}

extension SketchEmbedder {
    /// Pooled head features of every window of `grid` in each photograph (one backbone pass per image).
    /// - Returns: `images.count × grid.count × network.dimensions` floats, rows L2-normalised.
    public func regionDescriptors(ofImages images: [RGBImage], grid: RegionGrid) -> [Float] {
        guard !images.isEmpty else { return [] }
        let batch = inputBatch(count: images.count) { images[$0] }
        return batch.withUnsafeBufferPointer { network.regionFeatures($0, count: images.count, grid: grid) }
    }

    /// Training pairs from photographs: every window of `grid` in each (framed) photograph is cropped,
    /// drawn by `synthesize` (seeded per image and window from `seed` and `keys[i]`), normalised like a
    /// user's sketch and embedded; its partner is the window's pooled head feature from the whole image's
    /// backbone pass — what the archive stores.
    public func trainingPairs(
        images: [RGBImage], keys: [String], grid: RegionGrid, seed: UInt64,
        synthesize: @Sendable (RGBImage, UInt64) -> RGBImage
    ) -> SketchTrainingPairs {
        precondition(images.count == keys.count, "one key per image")
        var pairs = SketchTrainingPairs()
        guard !images.isEmpty else { return pairs }
        let regions = regionDescriptors(ofImages: images, grid: grid)
        let side = normalizer.canvas
        let framing = Preprocessing(resolution: side)
        let windows = grid.count
        var masks = [BinaryMask?](repeating: nil, count: images.count * windows)
        masks.withUnsafeMutableBufferPointer { buffer in
            let box = UncheckedSendableBox(buffer)
            parallelChunks(images.count, threads: defaultThreadCount) { range in
                for i in range {
                    let framed = framing.resizedAndCropped(images[i])
                    for (w, window) in grid.boxes.enumerated() {
                        let r = window.pixels(side: side)
                        let crop = framed.cropped(x: r.x, y: r.y, width: r.width, height: r.height)
                        let drawing = synthesize(crop, SplitMix64.seed(seed, key: "\(keys[i])#\(w)"))
                        box.value[i * windows + w] = try? normalizer.normalize(sketch: drawing)
                    }
                }
            }
        }
        var kept: [BinaryMask] = []
        let dims = network.dimensions
        for (slot, mask) in masks.enumerated() {
            guard let mask else {
                pairs.blank += 1
                continue
            }
            kept.append(mask)
            pairs.group.append(slot / windows)
            pairs.regions += regions[(slot * dims)..<((slot + 1) * dims)]
        }
        pairs.sketches = embed(renderings: kept)
        return pairs
    }
}
