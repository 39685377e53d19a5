import Foundation

/// Training settings of a sketch adapter.
public struct SketchAdapterConfiguration: Sendable, Codable, Equatable {
    /// Width of the shared space.
    public var dimensions = 128
    /// Optimiser steps (mini-batches).
    public var steps = 600
    /// Pairs per mini-batch (the whole set when smaller); the other pairs of a batch are the negatives.
    public var batchSize = 256
    /// Adam learning rate.
    public var learningRate: Float = 2e-3
    /// Decoupled weight decay of both projections.
    public var weightDecay: Float = 5e-2
    /// Softmax temperature of the sketch↔region logits.
    public var temperature: Float = 0.07
    /// Seed of the initialisation and the batch order.
    public var seed: UInt64 = 11

    public init() {}

    public func validate() throws {
        guard (1...4096).contains(dimensions), steps > 0, batchSize > 1, learningRate > 0, temperature > 0,
            weightDecay >= 0
        else {
            throw LearningError.invalidConfiguration(
                "sketch adapter: dimensions 1…4096; steps, learning rate and temperature positive; batch ≥ 2")
        }
    }
}

/// Metadata of a trained sketch adapter (the JSON header of its file).
public struct SketchAdapterHeader: Sendable, Codable, Equatable {
    /// Content id (weights and model).
    public var id: String
    /// The backbone whose features both sides read.
    public var modelID: String
    /// Length of a sketch descriptor (multi-level features of a line rendering).
    public var sketchDimensions: Int
    /// Length of a region descriptor (pooled head features of a tile window).
    public var regionDimensions: Int
    /// Width of the shared space.
    public var sharedDimensions: Int
    public var configuration: SketchAdapterConfiguration
    /// Training images and (sketch, region) pairs.
    public var images: Int
    public var pairs: Int
    /// How the training sketches were drawn (a generator name), so an evaluation can use another.
    public var generator: String
    /// Final training loss.
    public var finalLoss: Double
    public var weightChecksum: String
    public var created: String
}

/// Two linear maps into one shared space — one for line drawings, one for windows of a photograph —
/// trained so that a synthetic drawing of a window lands next to that window and away from the other
/// windows of the batch (symmetric InfoNCE, as CLIP pairs images with captions). No class labels and no
/// human sketches are involved: the pairs come from unlabelled tiles and a drawing generator.
public struct SketchAdapter: Sendable, Equatable {
    public var header: SketchAdapterHeader
    /// `shared × sketchDimensions` projection of a (centred) sketch descriptor.
    public var sketchLayer: DenseLayer
    /// `shared × regionDimensions` projection of a (centred) region descriptor.
    public var regionLayer: DenseLayer
    /// Mean training sketch descriptor, subtracted before projecting.
    public var sketchMean: [Float]
    /// Mean training region descriptor, subtracted before projecting.
    public var regionMean: [Float]

    /// The catalog kind of a tile's projected region codes.
    public var kind: String { "sketch-regions:\(header.id)" }

    /// Projects `count` sketch descriptors into the shared space (rows L2-normalised).
    public func mapSketches(_ descriptors: [Float], count: Int) -> [Float] {
        Self.map(descriptors, count: count, mean: sketchMean, layer: sketchLayer)
    }

    /// Projects `count` region descriptors into the shared space (rows L2-normalised).
    public func mapRegions(_ descriptors: [Float], count: Int) -> [Float] {
        Self.map(descriptors, count: count, mean: regionMean, layer: regionLayer)
    }

    static func map(_ values: [Float], count: Int, mean: [Float], layer: DenseLayer) -> [Float] {
        guard count > 0 else { return [] }
        let width = mean.count
        precondition(values.count == count * width, "sketch adapter: expected \(count) × \(width) values")
        var centred = values
        for i in centred.indices { centred[i] -= mean[i % width] }
        return RowNormalization.forward(layer.forward(Matrix(rows: count, columns: width, values: centred))).output
            .values
    }

    init(
        header: SketchAdapterHeader, sketchLayer: DenseLayer, regionLayer: DenseLayer, sketchMean: [Float],
        regionMean: [Float]
    ) {
        self.header = header
        self.sketchLayer = sketchLayer
        self.regionLayer = regionLayer
        self.sketchMean = sketchMean
        self.regionMean = regionMean
    }

    /// Weights in file order: sketch mean, region mean, sketch W and b, region W and b.
    var parameters: [Float] {
        sketchMean + regionMean + sketchLayer.weight + sketchLayer.bias + regionLayer.weight + regionLayer.bias
    }

    /// Trains both projections on paired descriptors (row `i` of `sketches` drawn from the window whose
    /// descriptor is row `i` of `regions`).
    /// - Parameters:
    ///   - group: For each pair, the tile it came from; pairs of the same tile are never each other's
    ///     negatives (their windows overlap).
    ///   - progress: Called every 50 steps and at the end with (step, loss).
    public static func train(
        sketches: [Float], sketchDimensions: Int, regions: [Float], regionDimensions: Int, group: [Int],
        modelID: String, images: Int, generator: String, configuration: SketchAdapterConfiguration,
        progress: (Int, Double) -> Void = { _, _ in }
    ) throws -> SketchAdapter {
        try configuration.validate()
        let n = group.count
        guard n >= 2, sketches.count == n * sketchDimensions, regions.count == n * regionDimensions else {
            throw LearningError.invalidConfiguration(
                "sketch adapter: needs at least 2 pairs with \(sketchDimensions) + \(regionDimensions) values each (got \(n))"
            )
        }
        func columnMean(_ values: [Float], _ width: Int) -> [Float] {
            var mean = [Float](repeating: 0, count: width)
            for i in values.indices { mean[i % width] += values[i] }
            return mean.map { $0 / Float(n) }
        }
        let sketchMean = columnMean(sketches, sketchDimensions), regionMean = columnMean(regions, regionDimensions)
        var random = RandomSource(seed: configuration.seed)
        let d = configuration.dimensions
        var sketchLayer = DenseLayer(inputs: sketchDimensions, outputs: d, gain: 1, random: &random)
        var regionLayer = DenseLayer(inputs: regionDimensions, outputs: d, gain: 1, random: &random)
        var optimizer = AdamOptimizer(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        var order = Array(0..<n)
        var cursor = n
        var loss = 0.0
        let batch = min(configuration.batchSize, n), inverseTemperature = 1 / configuration.temperature
        func rows(_ source: [Float], _ mean: [Float], _ picked: [Int]) -> Matrix {
            let width = mean.count
            var m = Matrix(rows: picked.count, columns: width)
            for (r, i) in picked.enumerated() {
                for j in 0..<width { m.values[r * width + j] = source[i * width + j] - mean[j] }
            }
            return m
        }
        for step in 1...configuration.steps {
            var picked: [Int] = []
            picked.reserveCapacity(batch)
            while picked.count < batch {
                if cursor == n { random.shuffle(&order); cursor = 0 }
                picked.append(order[cursor]); cursor += 1
            }
            let xs = rows(sketches, sketchMean, picked), xr = rows(regions, regionMean, picked)
            let (zs, normsS) = RowNormalization.forward(sketchLayer.forward(xs))
            let (zr, normsR) = RowNormalization.forward(regionLayer.forward(xr))
            let logits = zs.product(zr, otherTransposed: true, alpha: inverseTemperature)
            // Symmetric cross-entropy with the diagonal as the target; other pairs of the same tile are
            // masked out of both softmaxes.
            var dLogits = Matrix(rows: batch, columns: batch)
            var total = 0.0
            func masked(_ r: Int, _ c: Int) -> Bool { r != c && group[picked[r]] == group[picked[c]] }
            for direction in 0..<2 {
                for r in 0..<batch {
                    func value(_ c: Int) -> Float { direction == 0 ? logits[r, c] : logits[c, r] }
                    var maximum = -Float.infinity
                    for c in 0..<batch where !masked(r, c) { maximum = max(maximum, value(c)) }
                    var sum: Float = 0
                    for c in 0..<batch where !masked(r, c) { sum += expf(value(c) - maximum) }
                    total += Double(log(sum) + maximum - value(r))
                    for c in 0..<batch where !masked(r, c) {
                        let g = (expf(value(c) - maximum) / sum - (c == r ? 1 : 0)) / Float(2 * batch)
                        if direction == 0 { dLogits[r, c] += g } else { dLogits[c, r] += g }
                    }
                }
            }
            loss = total / Double(2 * batch)
            guard loss.isFinite else {
                throw LearningError.diverged(
                    "sketch adapter loss became \(loss) at step \(step); lower the learning rate")
            }
            let dzs = dLogits.product(zr, alpha: inverseTemperature)
            let dzr = dLogits.product(zs, transposed: true, alpha: inverseTemperature)
            let gs = sketchLayer.backward(
                input: xs, outputGradient: RowNormalization.backward(output: zs, norms: normsS, outputGradient: dzs),
                needInputGradient: false
            ).parameters
            let gr = regionLayer.backward(
                input: xr, outputGradient: RowNormalization.backward(output: zr, norms: normsR, outputGradient: dzr),
                needInputGradient: false
            ).parameters
            optimizer.beginStep()
            optimizer.update(&sketchLayer.weight, gradient: gs.weight, slot: 0, decay: true)
            optimizer.update(&sketchLayer.bias, gradient: gs.bias, slot: 1, decay: false)
            optimizer.update(&regionLayer.weight, gradient: gr.weight, slot: 2, decay: true)
            optimizer.update(&regionLayer.bias, gradient: gr.bias, slot: 3, decay: false)
            if step % 50 == 0 || step == configuration.steps { progress(step, loss) }
        }
        var adapter = SketchAdapter(
            header: SketchAdapterHeader(
                id: "", modelID: modelID, sketchDimensions: sketchDimensions, regionDimensions: regionDimensions,
                sharedDimensions: d, configuration: configuration, images: images, pairs: n, generator: generator,
                finalLoss: loss, weightChecksum: "", created: ISO8601DateFormatter().string(from: Date())),
            sketchLayer: sketchLayer, regionLayer: regionLayer, sketchMean: sketchMean, regionMean: regionMean)
        let bytes = littleEndianBytes(adapter.parameters)
        adapter.header.weightChecksum = fnv1a64(bytes)
        adapter.header.id = String(fnv1a64(bytes + Data(modelID.utf8)).prefix(12))
        return adapter
    }
}

/// The sketch adapter file format, version 1 (little-endian): magic `SATSSKAD`, UInt32 version, UInt32
/// header length H, H bytes of JSON ``SketchAdapterHeader``, then float32 sketch mean, region mean, sketch
/// weight (`shared × sketch`) and bias, region weight (`shared × region`) and bias. The header's checksum
/// covers the floats; files are written atomically.
public enum SketchAdapterFile {
    public static let magic = Data("SATSSKAD".utf8)
    public static let version: UInt32 = 1
    public static let fileExtension = "satseek-sketch"
    /// Largest header accepted (bytes).
    static let maximumHeader = 1 << 20

    /// Writes atomically (temporary file in the same folder, then rename).
    public static func write(_ adapter: SketchAdapter, to path: String) throws {
        var data = magic
        let header = try JSONEncoder.sorted.encode(adapter.header)
        data.append(littleEndian: version)
        data.append(littleEndian: UInt32(header.count))
        data.append(header)
        data.append(littleEndianBytes(adapter.parameters))
        try writeAtomically(data, to: path) { LearningError.invalidFile(path: path, reason: $0) }
    }

    /// Reads and validates an adapter file (sizes checked before anything is allocated for the weights).
    public static func read(_ path: String) throws -> SketchAdapter {
        func fail(_ reason: String) -> LearningError {
            .invalidFile(path: path, reason: "not a usable sketch adapter: " + reason)
        }
        let limit = 256 << 20
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int
        else { throw fail("cannot read the file") }
        guard size <= limit else { throw fail("\(size) bytes, more than the \(limit >> 20) MiB an adapter may have") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Data(bytes[0..<8]) == magic else {
            throw fail("it does not start with the sketch adapter magic 'SATSSKAD'")
        }
        let version = UInt32(littleEndianBytes: bytes[8..<12])
        guard version == Self.version else {
            throw fail("format version \(version), this SatSeek reads \(Self.version)")
        }
        let headerLength = Int(UInt32(littleEndianBytes: bytes[12..<16]))
        guard headerLength <= maximumHeader, 16 + headerLength <= bytes.count else { throw fail("truncated header") }
        let header: SketchAdapterHeader
        do {
            header = try JSONDecoder().decode(SketchAdapterHeader.self, from: Data(bytes[16..<(16 + headerLength)]))
        } catch {
            throw fail("the header is not valid JSON (\(error))")
        }
        let widths = 1...HeadArchitecture.maximumLayerSize
        let (s, r, d) = (header.sketchDimensions, header.regionDimensions, header.sharedDimensions)
        guard widths.contains(s), widths.contains(r), (1...4096).contains(d) else {
            throw fail("dimensions \(s), \(r) → \(d) outside the supported range")
        }
        let expected = s + r + (s + 1) * d + (r + 1) * d
        let weights = Data(bytes[(16 + headerLength)...])
        guard weights.count == expected * 4 else {
            throw fail("expected \(expected * 4) bytes of weights, found \(weights.count) (truncated or corrupted)")
        }
        guard fnv1a64(weights) == header.weightChecksum else {
            throw fail("the weights do not match their checksum (corrupted)")
        }
        let floats = littleEndianFloats(weights)
        guard floats.allSatisfy(\.isFinite) else { throw fail("the weights hold NaN or infinite values") }
        var at = 0
        func take(_ count: Int) -> [Float] {
            defer { at += count }
            return Array(floats[at..<(at + count)])
        }
        let sketchMean = take(s), regionMean = take(r)
        let sketchLayer = DenseLayer(inputs: s, outputs: d, weight: take(s * d), bias: take(d))
        let regionLayer = DenseLayer(inputs: r, outputs: d, weight: take(r * d), bias: take(d))
        return SketchAdapter(
            header: header, sketchLayer: sketchLayer, regionLayer: regionLayer, sketchMean: sketchMean,
            regionMean: regionMean)
    }
}

/// Drawn training pairs kept between `train-sketch` runs (drawing and embedding them is most of the
/// work; training with other settings then takes seconds). Format, little-endian: magic `SATSPAIR`,
/// UInt32 pair count N, sketch width S, region width R, then N·S and N·R float32 and N UInt32 tile numbers.
public enum SketchPairsFile {
    public static let magic = Data("SATSPAIR".utf8)
    /// Largest file read (4 GiB: the pairs of about 20 000 images at lite0's widths).
    public static let maximumSize = 4 << 30

    /// Writes atomically.
    public static func write(
        sketches: [Float], sketchDimensions: Int, regions: [Float], regionDimensions: Int, group: [Int], to path: String
    ) throws {
        var data = magic
        for value in [group.count, sketchDimensions, regionDimensions] { data.append(littleEndian: UInt32(value)) }
        data.append(littleEndianBytes(sketches))
        data.append(littleEndianBytes(regions))
        for g in group { data.append(littleEndian: UInt32(g)) }
        try writeAtomically(data, to: path) { LearningError.invalidFile(path: path, reason: $0) }
    }

    /// Reads a pairs file; its sizes are checked against the file's length before anything is allocated.
    public static func read(
        _ path: String
    ) throws -> (
        sketches: [Float], sketchDimensions: Int, regions: [Float], regionDimensions: Int, group: [Int]
    ) {
        func fail(_ reason: String) -> LearningError {
            .invalidFile(path: path, reason: "not a usable sketch pairs file: " + reason)
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int
        else { throw fail("cannot read the file") }
        guard size <= maximumSize else {
            throw fail("\(size) bytes, more than the \(maximumSize >> 30) GiB a pairs file may have")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        let bytes = [UInt8](data)
        guard bytes.count >= 20, Data(bytes[0..<8]) == magic else {
            throw fail("it does not start with the magic 'SATSPAIR'")
        }
        let n = Int(UInt32(littleEndianBytes: bytes[8..<12])), s = Int(UInt32(littleEndianBytes: bytes[12..<16]))
        let r = Int(UInt32(littleEndianBytes: bytes[16..<20]))
        let widths = 1...HeadArchitecture.maximumLayerSize
        guard widths.contains(s), widths.contains(r), n <= (bytes.count - 20) / 4 else {
            throw fail("sizes \(n) × (\(s) + \(r)) do not fit the file")
        }
        guard bytes.count == 20 + n * (s + r + 1) * 4 else {
            throw fail("expected \(20 + n * (s + r + 1) * 4) bytes, found \(bytes.count) (truncated or corrupted)")
        }
        var at = 20
        func floats(_ count: Int) -> [Float] {
            defer { at += count * 4 }
            return littleEndianFloats(Data(bytes[at..<(at + count * 4)]))
        }
        let sketches = floats(n * s), regions = floats(n * r)
        let group = (0..<n).map { Int(UInt32(littleEndianBytes: bytes[(at + $0 * 4)..<(at + $0 * 4 + 4)])) }
        guard sketches.allSatisfy(\.isFinite), regions.allSatisfy(\.isFinite) else {
            throw fail("it holds NaN or infinite values")
        }
        return (sketches, s, regions, r, group)
    }
}
