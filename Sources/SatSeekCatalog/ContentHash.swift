import Foundation

/// FNV-1a 64-bit hash of `data`, as 16 lowercase hex digits.
///
/// A fast **change detector** for image files (did the bytes change since they
/// were indexed?). It is not cryptographic: do not use it to resist tampering.
public func contentHash(of data: Data) -> String {
    var hasher = FNV1a64()
    hasher.update(data)
    return hasher.hexDigest
}

/// ``contentHash(of:)`` of a file's bytes, read in 1 MiB chunks so large rasters
/// are never loaded whole.
public func contentHash(ofFileAt path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    defer { try? handle.close() }
    var hasher = FNV1a64()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        hasher.update(chunk)
    }
    return hasher.hexDigest
}

/// Incremental FNV-1a, 64-bit variant.
struct FNV1a64 {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    private(set) var value: UInt64 = offsetBasis

    mutating func update(_ data: Data) {
        var h = value
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            for byte in bytes {
                h = (h ^ UInt64(byte)) &* Self.prime
            }
        }
        value = h
    }

    var hexDigest: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
