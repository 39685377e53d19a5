import Foundation

/// Why a checkpoint could not be read, or a tensor could not be taken from it.
///
/// Every case carries the file's URL, and `description` names the file and the reason, e.g.
/// `/models/model.pth: tensor '_blocks.3._bn1.weight' is missing (checkpoint has 312 tensors; closest: '…')`.
public enum CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file could not be opened or read at all (missing, permissions, …).
    case unreadable(URL, reason: String)
    /// The file is neither a PyTorch checkpoint (zip or legacy pickle) nor safetensors.
    /// `detail` says what was found instead (the first bytes, or that the file is empty).
    case notACheckpoint(URL, detail: String)
    /// The file ends before some structure it declares (a storage, a pickle, a header).
    case truncated(URL, detail: String)
    /// The file is structurally inconsistent (bad offsets, missing storages, wrong pickle contents…).
    case malformed(URL, detail: String)
    /// The pickle stream uses an opcode the reader does not implement.
    case unsupportedOpcode(URL, opcode: UInt8, offset: Int)
    /// The pickle stream would call a global outside the whitelist (no arbitrary code is run).
    case unsupportedGlobal(URL, name: String)
    /// A storage or tensor element type the reader cannot convert (complex, quantized, fp8, …).
    case unsupportedDType(URL, dtype: String)
    /// `Checkpoint.floats(_:shape:)` asked for a name the checkpoint does not have.
    case missingTensor(URL, name: String, available: Int, closest: String?)
    /// `Checkpoint.floats(_:shape:)` found the tensor but with another shape.
    case shapeMismatch(URL, name: String, actual: [Int], expected: [Int])

    /// The file the error is about.
    public var url: URL {
        switch self {
        case .unreadable(let url, _), .notACheckpoint(let url, _), .truncated(let url, _),
            .malformed(let url, _), .unsupportedOpcode(let url, _, _), .unsupportedGlobal(let url, _),
            .unsupportedDType(let url, _), .missingTensor(let url, _, _, _), .shapeMismatch(let url, _, _, _):
            return url
        }
    }

    /// `<path>: <reason>`.
    public var description: String {
        let reason: String
        switch self {
        case .unreadable(_, let why):
            reason = "cannot read file: \(why)"
        case .notACheckpoint(_, let detail):
            reason = "not a PyTorch or safetensors checkpoint (\(detail))"
        case .truncated(_, let detail):
            reason = "file is truncated: \(detail)"
        case .malformed(_, let detail):
            reason = "malformed checkpoint: \(detail)"
        case .unsupportedOpcode(_, let opcode, let offset):
            reason = "unsupported pickle opcode 0x\(hex(opcode)) at offset \(offset)"
        case .unsupportedGlobal(_, let name):
            reason =
                "unsupported global '\(name)' (only torch tensor/storage rebuilders and "
                + "collections.OrderedDict may be called)"
        case .unsupportedDType(_, let dtype):
            reason = "unsupported tensor element type '\(dtype)'"
        case .missingTensor(_, let name, let available, let closest):
            var text = "tensor '\(name)' is missing (checkpoint has \(available) tensors"
            if let closest {
                text += "; closest: '\(closest)'"
                if closest.hasSuffix("." + name) {
                    text += ", so try stripping(prefix: \"\(closest.dropLast(name.count))\")"
                }
            }
            reason = text + ")"
        case .shapeMismatch(_, let name, let actual, let expected):
            reason = "tensor '\(name)' has shape \(actual) but the model expects \(expected)"
        }
        return "\(url.path): \(reason)"
    }
}

/// Two lowercase hex digits.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
}

/// `3c 68 74 6d …` for the first `count` bytes of `data`, or "file is empty".
func firstBytesDescription(_ data: Data, count: Int = 8) -> String {
    if data.isEmpty { return "file is empty" }
    return "first bytes " + data.prefix(count).map(hex).joined(separator: " ")
}

/// The name in `candidates` with the smallest edit distance to `name` (ties: alphabetical first).
func closestName(to name: String, in candidates: [String]) -> String? {
    let target = Array(name.utf8)
    var best: (distance: Int, name: String)?
    for candidate in candidates.sorted() {
        let distance = editDistance(target, Array(candidate.utf8))
        if best == nil || distance < best!.distance { best = (distance, candidate) }
    }
    return best?.name
}

/// Levenshtein distance between two byte strings (two-row dynamic programme).
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
