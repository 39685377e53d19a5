import Foundation

/// Reads safetensors files: u64 little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the byte buffer
/// that `data_offsets` index (relative to the buffer's start).
enum SafetensorsReader {
    private struct Entry: Decodable {
        var dtype: String?
        var shape: [Int]?
        var data_offsets: [Int]?
    }

    private static let dtypes: [String: TensorDType] = [
        "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
        "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool
    ]

    /// A header length that fits the file (or at least is sane) followed by `{`.
    static func looksLikeSafetensors(_ data: Data) -> Bool {
        guard data.count >= 9 else { return false }
        let length = headerLength(data)
        return length >= 2 && length < 100_000_000 && data[data.startIndex + 8] == UInt8(ascii: "{")
    }

    private static func headerLength(_ data: Data) -> UInt64 {
        data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    static func read(_ data: Data, url: URL) throws -> Checkpoint {
        let declared = headerLength(data)
        guard data.count >= 8, declared <= UInt64(data.count - 8) else {
            throw CheckpointError.truncated(
                url,
                detail: "the JSON header needs \(declared) bytes at offset 8, "
                    + "only \(max(0, data.count - 8)) available")
        }
        let length = Int(declared)
        let headerStart = data.startIndex + 8
        let entries: [String: Entry]
        do {
            entries = try JSONDecoder().decode([String: Entry].self, from: data[headerStart..<headerStart + length])
        } catch {
            throw CheckpointError.malformed(url, detail: "the JSON header cannot be decoded (\(error))")
        }
        let bufferStart = headerStart + length
        let bufferSize = data.endIndex - bufferStart
        var tensors: [String: StoredTensor] = [:]
        for (name, entry) in entries where name != "__metadata__" {
            guard let code = entry.dtype, let shape = entry.shape, let offsets = entry.data_offsets,
                offsets.count == 2
            else {
                throw CheckpointError.malformed(url, detail: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = dtypes[code] else {
                throw CheckpointError.unsupportedDType(url, dtype: code)
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError.malformed(url, detail: "tensor '\(name)' has data_offsets \(offsets)")
            }
            guard end <= bufferSize else {
                throw CheckpointError.truncated(
                    url,
                    detail: "tensor '\(name)' needs bytes \(begin)..<\(end) "
                        + "of the data buffer at offset \(8 + length), only \(bufferSize) available")
            }
            guard let bytes = byteCount(shape, width: dtype.byteWidth) else {
                throw CheckpointError.malformed(url, detail: "tensor '\(name)' has an impossible shape \(shape)")
            }
            guard end - begin == bytes else {
                throw CheckpointError.malformed(
                    url,
                    detail: "tensor '\(name)' has \(end - begin) bytes but shape "
                        + "\(shape) of \(code) needs \(bytes)")
            }
            var strides = [Int](repeating: 1, count: shape.count)
            // Wraps only for empty tensors (a 0 in the shape).
            for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] &* shape[i + 1] }
            tensors[name] = try StoredTensor(
                name: name, dtype: dtype, shape: shape, strides: strides, storageOffset: 0,
                storage: data[bufferStart + begin..<bufferStart + end], storageName: name, url: url)
        }
        return Checkpoint(url: url, format: .safetensors, tensors: tensors)
    }

    /// The product of `shape` and `width`, or nil when it does not fit an `Int` (a crafted header).
    private static func byteCount(_ shape: [Int], width: Int) -> Int? {
        var product = width
        for size in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            product = next
        }
        return product
    }
}
