import Foundation

/// Where a head came from: the data and split it was trained on (for reports and leakage checks).
public struct HeadProvenance: Sendable, Codable, Equatable {
    /// The dataset folder as given to `satseek train`.
    public var dataset: String
    /// Fraction of every class used for training.
    public var splitFraction: Double
    /// Seed of the per-class split.
    public var splitSeed: UInt64
    /// FNV-1a hash of the sorted training items (`class/file` names), to recognise the same split later.
    public var trainFingerprint: String
    /// Images in the training part.
    public var trainImages: Int
    /// Images in the held-out part.
    public var testImages: Int
    /// Number of classes.
    public var classes: Int
    /// Wall-clock training time (indexing excluded).
    public var trainingSeconds: Double

    /// Provenance of a training run.
    public init(
        dataset: String, splitFraction: Double, splitSeed: UInt64, trainFingerprint: String,
        trainImages: Int, testImages: Int, classes: Int, trainingSeconds: Double
    ) {
        self.dataset = dataset
        self.splitFraction = splitFraction
        self.splitSeed = splitSeed
        self.trainFingerprint = trainFingerprint
        self.trainImages = trainImages
        self.testImages = testImages
        self.classes = classes
        self.trainingSeconds = trainingSeconds
    }
}

/// The JSON header of a head file.
public struct HeadFileHeader: Sendable, Codable, Equatable {
    /// Content id (hash of architecture and weights); an index stores the head's vectors under `head:<id>`.
    public var id: String
    /// Model id of the backbone whose embeddings the head takes (e.g. `effnet-lite0@57934424`).
    public var backboneModelID: String
    /// Layer sizes and output kind.
    public var architecture: HeadArchitecture
    /// The settings the head was trained with.
    public var configuration: TrainingConfiguration
    /// Held-out measurements at the end of training (e.g. `"codes_map@20"`).
    public var metrics: [String: Double]
    /// Training data and split, when known.
    public var provenance: HeadProvenance?
    /// Number of float32 weights after the header.
    public var weightCount: Int
    /// FNV-1a 64 of the weight bytes (hex).
    public var weightChecksum: String
    /// ISO 8601 time of writing.
    public var created: String
}

/// A trained head with its metadata, as stored in a `.satseek-head` file.
public struct TrainedHead: Sendable, Equatable {
    /// Metadata (JSON header of the file).
    public var header: HeadFileHeader
    /// The network.
    public var head: MLPHead

    /// Builds the header (id, checksum, counts) for a freshly trained head.
    public init(
        head: MLPHead, backboneModelID: String, configuration: TrainingConfiguration,
        metrics: [String: Double] = [:], provenance: HeadProvenance? = nil
    ) {
        let bytes = HeadFile.weightBytes(head)
        let checksum = fnv1a64(bytes)
        let architectureJSON = (try? JSONEncoder.sorted.encode(head.architecture)) ?? Data()
        let id = fnv1a64(architectureJSON + bytes + Data(backboneModelID.utf8)).prefix(12)
        self.head = head
        header = HeadFileHeader(
            id: String(id), backboneModelID: backboneModelID, architecture: head.architecture,
            configuration: configuration, metrics: metrics, provenance: provenance,
            weightCount: bytes.count / 4, weightChecksum: checksum,
            created: ISO8601DateFormatter().string(from: Date()))
    }

    init(header: HeadFileHeader, head: MLPHead) {
        self.header = header
        self.head = head
    }

    /// The catalog kind under which an index stores this head's embeddings: `head:<id>`.
    public var kind: String { "head:\(header.id)" }
    /// Code length (or float embedding size).
    public var bits: Int { header.architecture.outputDimensions }

    /// Throws ``LearningError/backboneMismatch(path:headBackbone:requested:)`` unless the head was trained
    /// on `modelID`'s embeddings.
    public func requireBackbone(_ modelID: String, path: String) throws {
        guard header.backboneModelID == modelID else {
            throw LearningError.backboneMismatch(path: path, headBackbone: header.backboneModelID, requested: modelID)
        }
    }
}

/// The head file format, version 1, all integers and floats little-endian:
///
/// | bytes | content |
/// |---|---|
/// | 8 | magic `SATSHEAD` |
/// | 4 | format version (UInt32) |
/// | 4 | header length H (UInt32) |
/// | H | JSON ``HeadFileHeader`` (UTF-8) |
/// | 4·N | N = `weightCount` float32: per layer, the weight matrix (`outputs × inputs`, row-major), then the bias |
public enum HeadFile {
    /// First 8 bytes of every head file.
    public static let magic = Data("SATSHEAD".utf8)
    /// Format version written (and the newest one read).
    public static let version: UInt32 = 1
    /// The usual file extension.
    public static let fileExtension = "satseek-head"

    /// Serialises a head.
    public static func encode(_ trained: TrainedHead) throws -> Data {
        let header = try JSONEncoder.sorted.encode(trained.header)
        var data = magic
        data.append(littleEndian: version)
        data.append(littleEndian: UInt32(header.count))
        data.append(header)
        data.append(weightBytes(trained.head))
        return data
    }

    /// Writes atomically: to a temporary file in the same folder, then renamed over `path`, so a reader
    /// never sees half a file and a crash leaves the previous file intact.
    public static func write(_ trained: TrainedHead, to path: String) throws {
        try writeAtomically(try encode(trained), to: path) { LearningError.invalidHeadFile(path: path, reason: $0) }
    }

    /// Reads and validates a head file.
    public static func read(_ path: String) throws -> TrainedHead {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LearningError.invalidHeadFile(path: path, reason: "cannot read the file")
        }
        return try decode(data, path: path)
    }

    /// Reads a head file and checks that it was trained on `backboneModelID`.
    public static func read(_ path: String, backboneModelID: String) throws -> TrainedHead {
        let trained = try read(path)
        try trained.requireBackbone(backboneModelID, path: path)
        return trained
    }

    /// Parses a head file's bytes (`path` is only used in error messages).
    public static func decode(_ data: Data, path: String) throws -> TrainedHead {
        func fail(_ reason: String) -> LearningError { .invalidHeadFile(path: path, reason: reason) }
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Data(bytes[0..<8]) == magic else {
            throw fail(bytes.isEmpty ? "the file is empty" : "it does not start with the head file magic 'SATSHEAD'")
        }
        guard bytes.count >= 16 else { throw fail("truncated: \(bytes.count) bytes, the fixed header alone has 16") }
        let version = UInt32(littleEndianBytes: bytes[8..<12])
        guard version <= Self.version, version >= 1 else {
            throw LearningError.unsupportedHeadVersion(path: path, found: version, supported: Self.version)
        }
        let headerLength = Int(UInt32(littleEndianBytes: bytes[12..<16]))
        guard 16 + headerLength <= bytes.count else {
            throw fail("truncated: the header needs \(headerLength) bytes, only \(bytes.count - 16) follow")
        }
        let header: HeadFileHeader
        do {
            header = try JSONDecoder().decode(HeadFileHeader.self, from: Data(bytes[16..<(16 + headerLength)]))
        } catch {
            throw fail("the header is not valid JSON (\(error))")
        }
        try header.architecture.validate()
        let expected = header.architecture.parameterCount
        guard header.weightCount == expected else {
            throw fail(
                "the header lists \(header.weightCount) weights but layers \(header.architecture.layerSizes) need \(expected)"
            )
        }
        let weightData = Data(bytes[(16 + headerLength)...])
        guard weightData.count == expected * 4 else {
            throw fail(
                weightData.count < expected * 4
                    ? "truncated: expected \(expected * 4) bytes of weights, found \(weightData.count)"
                    : "\(weightData.count - expected * 4) unexpected bytes after the weights")
        }
        guard fnv1a64(weightData) == header.weightChecksum else {
            throw fail("the weights do not match their checksum (file corrupted)")
        }
        let floats = littleEndianFloats(weightData)
        var layers: [DenseLayer] = []
        var offset = 0
        let sizes = header.architecture.layerSizes
        for (inputs, outputs) in zip(sizes, sizes.dropFirst()) {
            let weight = Array(floats[offset..<(offset + inputs * outputs)])
            offset += inputs * outputs
            let bias = Array(floats[offset..<(offset + outputs)])
            offset += outputs
            layers.append(DenseLayer(inputs: inputs, outputs: outputs, weight: weight, bias: bias))
        }
        return TrainedHead(header: header, head: try MLPHead(architecture: header.architecture, layers: layers))
    }

    /// The head's parameters as little-endian float32 bytes in file order.
    static func weightBytes(_ head: MLPHead) -> Data {
        littleEndianBytes(head.layers.flatMap { $0.weight + $0.bias })
    }
}

/// FNV-1a 64-bit hash as 16 hex digits.
func fnv1a64(_ data: Data) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in data {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return String(format: "%016llx", hash)
}

/// FNV-1a 64-bit hash of strings joined by newlines (e.g. the training items of a split).
public func fingerprint(_ items: [String]) -> String {
    fnv1a64(Data(items.joined(separator: "\n").utf8))
}

extension JSONEncoder {
    /// Stable output: sorted keys.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension Data {
    mutating func append(littleEndian value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UInt32 {
    init(littleEndianBytes bytes: ArraySlice<UInt8>) {
        var value: UInt32 = 0
        for (shift, byte) in bytes.enumerated() { value |= UInt32(byte) << (8 * shift) }
        self = value
    }
}

/// Writes `data` to a temporary file beside `path` and renames it into place, so readers never see half a
/// file and a crash leaves the previous file intact.
func writeAtomically(_ data: Data, to path: String, error makeError: (String) -> Error) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
    do {
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw makeError("cannot rename the temporary file into place (errno \(errno))")
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    }
}

/// Float32 values as little-endian bytes (the weight payload of head and alignment files).
func littleEndianBytes(_ values: [Float]) -> Data {
    values.map { $0.bitPattern.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }
}

/// The inverse of ``littleEndianBytes(_:)``: `data.count / 4` floats.
func littleEndianFloats(_ data: Data) -> [Float] {
    let count = data.count / 4
    var floats = [Float](repeating: 0, count: count)
    data.withUnsafeBytes { raw in
        for i in 0..<count {
            floats[i] = Float(
                bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
    }
    return floats
}
