import Foundation

/// Training settings of an image→text alignment.
public struct AlignmentConfiguration: Sendable, Codable, Equatable {
    /// Optimiser steps (mini-batches).
    public var steps = 400
    /// Images per mini-batch (the whole set when smaller).
    public var batchSize = 256
    /// Adam learning rate.
    public var learningRate: Float = 3e-3
    /// Decoupled weight decay of the projection matrix.
    public var weightDecay: Float = 1e-2
    /// Softmax temperature of the image→class-text logits.
    public var temperature: Float = 0.05
    /// Seed of the initialisation and the batch order.
    public var seed: UInt64 = 7

    public init() {}

    public func validate() throws {
        guard steps > 0, batchSize > 0, learningRate > 0, temperature > 0, weightDecay >= 0 else {
            throw LearningError.invalidConfiguration(
                "alignment: steps, batch size, learning rate and temperature must be positive")
        }
    }
}

/// Metadata of a trained alignment (the JSON header of its file).
public struct TextAlignmentHeader: Sendable, Codable, Equatable {
    /// Content id (architecture, weights and models).
    public var id: String
    /// The image model whose embeddings are mapped.
    public var imageModelID: String
    /// The text model whose sentence space they are mapped into.
    public var textModelID: String
    public var imageDimensions: Int
    public var textDimensions: Int
    /// Classes the alignment was trained on.
    public var classes: [String]
    /// Prompt templates used (`{}` = class phrase).
    public var templates: [String]
    public var configuration: AlignmentConfiguration
    /// Training images.
    public var images: Int
    /// Final training loss.
    public var finalLoss: Double
    public var weightChecksum: String
    public var created: String
}

/// A linear map from an image model's embedding space into a sentence encoder's space, trained so that
/// each image lands nearest to the sentences describing its class (InfoNCE over class prompt embeddings).
/// Then any sentence can query images: rank by cosine between the sentence embedding and the mapped
/// image embeddings.
public struct TextAlignment: Sendable, Equatable {
    public var header: TextAlignmentHeader
    /// `textDimensions × imageDimensions` projection with bias.
    public var layer: DenseLayer

    /// The catalog kind of mapped image embeddings: `text:<text model id>:<alignment id>`.
    public var kind: String { "text:\(header.textModelID):\(header.id)" }

    /// Maps `count` image embeddings (row-major) and L2-normalises the results.
    public func map(_ images: [Float], count: Int) -> [Float] {
        RowNormalization.forward(layer.forward(Matrix(rows: count, columns: layer.inputs, values: images))).output
            .values
    }

    /// Builds the header for freshly trained weights.
    public init(
        layer: DenseLayer, imageModelID: String, textModelID: String, classes: [String], templates: [String],
        configuration: AlignmentConfiguration, images: Int, finalLoss: Double
    ) {
        let bytes = AlignmentFile.weightBytes(layer)
        let id = fnv1a64(bytes + Data((imageModelID + "|" + textModelID).utf8)).prefix(12)
        self.layer = layer
        header = TextAlignmentHeader(
            id: String(id), imageModelID: imageModelID, textModelID: textModelID, imageDimensions: layer.inputs,
            textDimensions: layer.outputs, classes: classes, templates: templates, configuration: configuration,
            images: images, finalLoss: finalLoss, weightChecksum: fnv1a64(bytes),
            created: ISO8601DateFormatter().string(from: Date()))
    }

    init(header: TextAlignmentHeader, layer: DenseLayer) {
        self.header = header
        self.layer = layer
    }

    /// Trains the projection.
    /// - Parameters:
    ///   - features: `labels.count × imageDimensions` image embeddings, row-major.
    ///   - labels: Class index of each image (into `classTexts` rows).
    ///   - classTexts: One L2-normalised text embedding per class.
    ///   - progress: Called every 50 steps and at the end with (step, loss).
    /// - Returns: The trained layer and the final mini-batch loss.
    public static func train(
        features: [Float], imageDimensions: Int, labels: [Int], classTexts: Matrix,
        configuration: AlignmentConfiguration,
        progress: (Int, Double) -> Void = { _, _ in }
    ) throws -> (layer: DenseLayer, loss: Double) {
        try configuration.validate()
        let n = labels.count, classes = classTexts.rows, textDims = classTexts.columns
        guard n > 0, features.count == n * imageDimensions else {
            throw LearningError.invalidConfiguration(
                "alignment: \(features.count) feature values for \(n) images of \(imageDimensions) dimensions")
        }
        guard classes >= 2, labels.allSatisfy({ (0..<classes).contains($0) }) else {
            throw LearningError.invalidConfiguration(
                "alignment needs at least 2 classes with text embeddings (got \(classes))")
        }
        var random = RandomSource(seed: configuration.seed)
        var layer = DenseLayer(inputs: imageDimensions, outputs: textDims, gain: 1, random: &random)
        var optimizer = AdamOptimizer(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        var order = Array(0..<n)
        var cursor = n
        var loss = 0.0
        let batch = min(configuration.batchSize, n), inverseTemperature = 1 / configuration.temperature
        for step in 1...configuration.steps {
            var rows: [Int] = []
            rows.reserveCapacity(batch)
            while rows.count < batch {
                if cursor == n { random.shuffle(&order); cursor = 0 }
                rows.append(order[cursor]); cursor += 1
            }
            var x = Matrix(rows: batch, columns: imageDimensions)
            for (r, i) in rows.enumerated() {
                x.values.replaceSubrange(
                    (r * imageDimensions)..<((r + 1) * imageDimensions),
                    with: features[(i * imageDimensions)..<((i + 1) * imageDimensions)])
            }
            let y = layer.forward(x)
            let (z, norms) = RowNormalization.forward(y)
            // logits = z · Tᵀ / τ; softmax cross-entropy against each image's class.
            var logits = Matrix(rows: batch, columns: classes)
            z.values.withUnsafeBufferPointer { zs in
                classTexts.values.withUnsafeBufferPointer { ts in
                    logits.values.withUnsafeMutableBufferPointer { out in
                        gemm(
                            transposeA: false, transposeB: true, m: batch, n: classes, k: textDims,
                            alpha: inverseTemperature, a: zs.baseAddress!, lda: textDims, b: ts.baseAddress!,
                            ldb: textDims, beta: 0, c: out.baseAddress!, ldc: classes)
                    }
                }
            }
            var dLogits = Matrix(rows: batch, columns: classes)
            var total = 0.0
            for r in 0..<batch {
                let label = labels[rows[r]]
                var maximum = -Float.infinity
                for c in 0..<classes { maximum = max(maximum, logits[r, c]) }
                var sum: Float = 0
                for c in 0..<classes { sum += expf(logits[r, c] - maximum) }
                total += Double(log(sum) + maximum - logits[r, label])
                for c in 0..<classes {
                    let p = expf(logits[r, c] - maximum) / sum
                    dLogits[r, c] = (p - (c == label ? 1 : 0)) / Float(batch)
                }
            }
            loss = total / Double(batch)
            guard loss.isFinite else {
                throw LearningError.diverged("alignment loss became \(loss) at step \(step); lower --lr")
            }
            var dz = Matrix(rows: batch, columns: textDims)
            dLogits.values.withUnsafeBufferPointer { g in
                classTexts.values.withUnsafeBufferPointer { ts in
                    dz.values.withUnsafeMutableBufferPointer { out in
                        gemm(
                            transposeA: false, transposeB: false, m: batch, n: textDims, k: classes,
                            alpha: inverseTemperature, a: g.baseAddress!, lda: classes, b: ts.baseAddress!,
                            ldb: textDims, beta: 0, c: out.baseAddress!, ldc: textDims)
                    }
                }
            }
            let dy = RowNormalization.backward(output: z, norms: norms, outputGradient: dz)
            let gradient = layer.backward(input: x, outputGradient: dy, needInputGradient: false).parameters
            optimizer.beginStep()
            optimizer.update(&layer.weight, gradient: gradient.weight, slot: 0, decay: true)
            optimizer.update(&layer.bias, gradient: gradient.bias, slot: 1, decay: false)
            if step % 50 == 0 || step == configuration.steps { progress(step, loss) }
        }
        return (layer, loss)
    }
}

/// The alignment file format, version 1 (little-endian): magic `SATSALGN`, UInt32 version, UInt32 header
/// length H, H bytes of JSON ``TextAlignmentHeader``, then the float32 weight matrix (`text × image`,
/// row-major) and bias. The header's checksum covers the floats; files are written atomically.
public enum AlignmentFile {
    public static let magic = Data("SATSALGN".utf8)
    public static let version: UInt32 = 1
    public static let fileExtension = "satseek-align"

    static func weightBytes(_ layer: DenseLayer) -> Data { littleEndianBytes(layer.weight + layer.bias) }

    /// Writes atomically (temporary file in the same folder, then rename).
    public static func write(_ alignment: TextAlignment, to path: String) throws {
        var data = magic
        let header = try JSONEncoder.sorted.encode(alignment.header)
        data.append(littleEndian: version)
        data.append(littleEndian: UInt32(header.count))
        data.append(header)
        data.append(weightBytes(alignment.layer))
        try writeAtomically(data, to: path) { LearningError.invalidHeadFile(path: path, reason: $0) }
    }

    /// Reads and validates an alignment file.
    public static func read(_ path: String) throws -> TextAlignment {
        func fail(_ reason: String) -> LearningError {
            .invalidHeadFile(path: path, reason: "not a usable alignment file: " + reason)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Data(bytes[0..<8]) == magic else {
            throw fail("it does not start with the alignment magic 'SATSALGN'")
        }
        let version = UInt32(littleEndianBytes: bytes[8..<12])
        guard version == Self.version else {
            throw fail("format version \(version), this SatSeek reads \(Self.version)")
        }
        let headerLength = Int(UInt32(littleEndianBytes: bytes[12..<16]))
        guard 16 + headerLength <= bytes.count else { throw fail("truncated header") }
        let header: TextAlignmentHeader
        do {
            header = try JSONDecoder().decode(TextAlignmentHeader.self, from: Data(bytes[16..<(16 + headerLength)]))
        } catch {
            throw fail("the header is not valid JSON (\(error))")
        }
        let weights = Data(bytes[(16 + headerLength)...])
        let widths = 1...HeadArchitecture.maximumLayerSize
        guard widths.contains(header.imageDimensions), widths.contains(header.textDimensions) else {
            throw fail("dimensions \(header.imageDimensions)→\(header.textDimensions) outside 1…\(widths.upperBound)")
        }
        let expected = (header.imageDimensions + 1) * header.textDimensions
        guard weights.count == expected * 4 else {
            throw fail("expected \(expected * 4) bytes of weights, found \(weights.count) (truncated or corrupted)")
        }
        guard fnv1a64(weights) == header.weightChecksum else {
            throw fail("the weights do not match their checksum (corrupted)")
        }
        let floats = littleEndianFloats(weights)
        let split = header.imageDimensions * header.textDimensions
        let layer = DenseLayer(
            inputs: header.imageDimensions, outputs: header.textDimensions,
            weight: Array(floats[..<split]), bias: Array(floats[split...]))
        return TextAlignment(header: header, layer: layer)
    }
}
