import Foundation

/// Reads `torch.save(obj, f, _use_new_zipfile_serialization=False)` files:
///
/// 1. pickle: magic number (LONG1 0x1950a86a20f9469cfc6c)
/// 2. pickle: protocol version (1001)
/// 3. pickle: sys info dict (endianness, type sizes)
/// 4. pickle: the object; storages are persistent ids
/// 5. pickle: list of storage keys
/// 6. for each key, in that order: int64 LE element count, then count × element size raw LE bytes.
enum TorchLegacyReader {
    /// 0x1950a86a20f9469cfc6c as LONG1 payload (little-endian).
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    static func read(_ data: Data, url: URL) throws -> Checkpoint {
        let (root, storages) = try data.withUnsafeBytes { raw in
            try parse(raw, data: data, url: url)
        }
        let tensors = try TorchObjects.tensors(in: root, storages: storages, url: url)
        return Checkpoint(url: url, format: .torchLegacy, tensors: tensors)
    }

    /// Runs the pickles and slices every storage out of `data` (no copies).
    private static func parse(
        _ raw: UnsafeRawBufferPointer, data: Data,
        url: URL
    ) throws -> (PickleValue, [String: Data]) {
        var magicMachine = PickleMachine(bytes: raw, at: 0, url: url, context: "the magic-number pickle")
        let first = try magicMachine.run()
        guard case .bigInt(let bytes) = first, bytes == magic else {
            throw CheckpointError.notACheckpoint(
                url,
                detail: "a pickle without PyTorch's magic number, "
                    + firstBytesDescription(data))
        }
        var versionMachine = PickleMachine(
            bytes: raw, at: magicMachine.position, url: url,
            context: "the protocol-version pickle")
        let version = try versionMachine.run()
        guard version.intValue == 1001 else {
            throw CheckpointError.malformed(
                url,
                detail: "unsupported legacy protocol version "
                    + "\(version.intValue.map(String.init) ?? version.kind) (expected 1001)")
        }
        var infoMachine = PickleMachine(
            bytes: raw, at: versionMachine.position, url: url,
            context: "the sys-info pickle")
        if case .dict(let info) = try infoMachine.run() {
            for (key, value) in info.entries where key.stringValue == "little_endian" {
                if case .bool(false) = value {
                    throw CheckpointError.malformed(url, detail: "big-endian checkpoints are not supported")
                }
            }
        }
        var mainMachine = PickleMachine(bytes: raw, at: infoMachine.position, url: url, context: "the main pickle")
        let root = try mainMachine.run()
        var keysMachine = PickleMachine(
            bytes: raw, at: mainMachine.position, url: url,
            context: "the storage-key pickle")
        guard let keyValues = try keysMachine.run().sequence else {
            throw CheckpointError.malformed(url, detail: "the storage-key pickle is not a list")
        }
        let keys = try keyValues.map { value -> String in
            guard let key = value.keyText else {
                throw CheckpointError.malformed(url, detail: "storage key is a \(value.kind)")
            }
            return key
        }

        var offset = keysMachine.position
        var storages: [String: Data] = [:]
        for key in keys {
            guard let declared = mainMachine.storages[key] else {
                throw CheckpointError.malformed(
                    url,
                    detail: "storage '\(key)' is listed but no tensor names it, "
                        + "so its element type is unknown")
            }
            guard raw.count - offset >= 8 else {
                throw CheckpointError.truncated(
                    url,
                    detail: "storage '\(key)' needs 8 bytes for its element "
                        + "count at offset \(offset), only \(max(0, raw.count - offset)) available")
            }
            let count = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            offset += 8
            let width = declared.dtype.byteWidth
            guard count >= 0, count <= Int64(Int.max / width) else {
                throw CheckpointError.malformed(url, detail: "storage '\(key)' has element count \(count)")
            }
            let byteCount = Int(count) * width
            guard raw.count - offset >= byteCount else {
                throw CheckpointError.truncated(
                    url,
                    detail: "storage '\(key)' needs \(byteCount) bytes at offset "
                        + "\(offset), only \(raw.count - offset) available")
            }
            let start = data.startIndex + offset
            storages[key] = data[start..<start + byteCount]
            offset += byteCount
        }
        return (root, storages)
    }
}
