import Foundation

/// Embedding BLOB format: `dimensions` little-endian IEEE-754 float32 values.
enum EmbeddingCodec {
    /// Encodes `vector` as little-endian float32 bytes.
    static func encode(_ vector: [Float]) -> Data {
        var data = Data(count: vector.count * MemoryLayout<UInt32>.size)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for (i, value) in vector.enumerated() {
                raw.storeBytes(
                    of: value.bitPattern.littleEndian,
                    toByteOffset: i * MemoryLayout<UInt32>.size, as: UInt32.self)
            }
        }
        return data
    }

    /// Appends the floats encoded in `data` to `vector`; `data.count` must be a multiple of 4.
    static func append(_ data: Data, to vector: inout [Float]) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let count = raw.count / MemoryLayout<UInt32>.size
            for i in 0..<count {
                let bits = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<UInt32>.size, as: UInt32.self)
                vector.append(Float(bitPattern: UInt32(littleEndian: bits)))
            }
        }
    }

    /// Decodes a whole blob.
    static func decode(_ data: Data) -> [Float] {
        var vector: [Float] = []
        vector.reserveCapacity(data.count / MemoryLayout<UInt32>.size)
        append(data, to: &vector)
        return vector
    }
}
