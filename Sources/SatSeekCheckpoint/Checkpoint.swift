import Foundation

/// Element type of a stored tensor, as saved by PyTorch or safetensors.
public enum TensorDType: String, Sendable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    var byteWidth: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// The on-disk layout a checkpoint was read from.
public enum CheckpointFormat: String, Sendable {
    /// `torch.save(..., _use_new_zipfile_serialization=False)`: a sequence of pickles then raw storages.
    case torchLegacy = "pytorch-legacy-pickle"
    /// `torch.save` since torch 1.6: a zip of `<archive>/data.pkl` and `<archive>/data/<key>` storages.
    case torchZip = "pytorch-zip"
    /// Hugging Face safetensors: u64 header length, JSON header, byte buffer.
    case safetensors
}

/// The tensors of a checkpoint file, read without Python and without running pickled code.
///
/// ```swift
/// let ckpt = try Checkpoint.load(url).stripping(prefix: "state_dict.")
/// let stem = try ckpt.floats("_conv_stem.weight", shape: [32, 3, 3, 3])
/// ```
/// Nested dictionaries (`{"state_dict": {...}, "epoch": 3}`) are flattened with "." joined keys;
/// non-tensor leaves are dropped.
public struct Checkpoint: Sendable {
    /// The file the tensors were read from (used in every error message).
    public let url: URL
    /// The format detected from the file's magic bytes.
    public let format: CheckpointFormat
    /// Tensors by (flattened) name.
    public let tensors: [String: StoredTensor]

    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Wraps already-read tensors.
    init(url: URL, format: CheckpointFormat, tensors: [String: StoredTensor]) {
        self.url = url
        self.format = format
        self.tensors = tensors
    }

    /// Reads `url`, detecting the format from its magic bytes: zip (`PK\u{3}\u{4}`) → PyTorch zip,
    /// a pickle starting with PyTorch's legacy magic number → legacy PyTorch, a plausible
    /// little-endian header length followed by `{` → safetensors.
    ///
    /// The file is memory-mapped and legacy/safetensors storages stay byte ranges of it (zip entries
    /// are copied out once); values are converted only by `floats()`.
    /// - Throws: `CheckpointError` naming the file and the reason.
    public static func load(_ url: URL) throws -> Checkpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError.unreadable(url, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw CheckpointError.unreadable(url, reason: "it is a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError.unreadable(url, reason: error.localizedDescription)
        }
        if data.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            return try TorchZipReader.read(url: url, fileSize: data.count)
        }
        if data.first == 0x80 {
            return try TorchLegacyReader.read(data, url: url)
        }
        if SafetensorsReader.looksLikeSafetensors(data) {
            return try SafetensorsReader.read(data, url: url)
        }
        throw CheckpointError.notACheckpoint(url, detail: firstBytesDescription(data))
    }

    /// The tensor `name` converted to Float, after checking that its shape is exactly `shape`.
    /// - Throws: `CheckpointError.missingTensor` (with the closest existing name) or `.shapeMismatch`.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let tensor = tensors[name] else {
            throw CheckpointError.missingTensor(
                url, name: name, available: tensors.count,
                closest: closestName(to: name, in: Array(tensors.keys)))
        }
        guard tensor.shape == shape else {
            throw CheckpointError.shapeMismatch(url, name: name, actual: tensor.shape, expected: shape)
        }
        return try tensor.floats()
    }

    /// A view restricted to names starting with `prefix`, with `prefix` removed from them
    /// (e.g. `stripping(prefix: "state_dict.")` or `stripping(prefix: "module.")`).
    public func stripping(prefix: String) -> Checkpoint {
        var kept: [String: StoredTensor] = [:]
        for (name, tensor) in tensors where name.hasPrefix(prefix) {
            let short = String(name.dropFirst(prefix.count))
            kept[short] = tensor.renamed(short)
        }
        return Checkpoint(url: url, format: format, tensors: kept)
    }
}
