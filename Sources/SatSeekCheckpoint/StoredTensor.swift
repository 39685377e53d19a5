import Foundation

/// One tensor of a checkpoint: its element type, logical shape and the storage bytes it views.
///
/// The bytes stay as they are in the file (memory-mapped where possible); `floats()` converts
/// on demand, following the storage offset and strides, so transposed or channels-last
/// tensors (as in the EfficientNet-Lite checkpoints) come out in logical row-major order.
public struct StoredTensor: Sendable {
    /// Flattened name in the checkpoint, e.g. `_blocks.3._bn1.weight`.
    public let name: String
    /// Element type as stored.
    public let dtype: TensorDType
    /// Logical shape (`[]` for a scalar).
    public let shape: [Int]

    /// Storage bytes, starting at the storage's element 0 (little-endian elements).
    let storage: Data
    /// Offset of the tensor's first element in the storage, in elements.
    let storageOffset: Int
    /// Stride of each dimension, in elements.
    let strides: [Int]
    /// File, for error messages.
    let url: URL

    /// Checks that every element the view addresses lies inside `storage`.
    init(
        name: String, dtype: TensorDType, shape: [Int], strides: [Int], storageOffset: Int,
        storage: Data, storageName: String, url: URL
    ) throws {
        guard shape.count == strides.count else {
            throw CheckpointError.malformed(
                url,
                detail: "tensor '\(name)' has shape \(shape) "
                    + "but \(strides.count) strides \(strides)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw CheckpointError.malformed(
                url,
                detail: "tensor '\(name)' has negative size, stride or "
                    + "offset (shape \(shape), strides \(strides), offset \(storageOffset))")
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw CheckpointError.malformed(url, detail: "tensor '\(name)' has an impossible shape \(shape)")
            }
            count = product
        }
        let available = storage.count / dtype.byteWidth
        // Zero or overlapping strides let a few stored bytes stand for any number of elements; `floats()`
        // would then allocate what the shape says (a 632-byte file asking for 39 GB). No checkpoint needs that.
        guard count <= available else {
            throw CheckpointError.malformed(
                url,
                detail: "tensor '\(name)' has \(count) elements (shape \(shape), "
                    + "strides \(strides)) but storage '\(storageName)' holds only \(available) \(dtype.rawValue) "
                    + "elements: repeated (zero or overlapping) strides are not supported")
        }
        if !shape.contains(0) {
            var last = storageOffset
            for (size, stride) in zip(shape, strides) {
                let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(step)
                guard !overflow1, !overflow2 else {
                    throw CheckpointError.malformed(url, detail: "tensor '\(name)' has an impossible extent")
                }
                last = sum
            }
            guard last < available else {
                throw CheckpointError.malformed(
                    url,
                    detail: "tensor '\(name)' (shape \(shape), strides "
                        + "\(strides), offset \(storageOffset)) reads element \(last) but storage "
                        + "'\(storageName)' has only \(available) \(dtype.rawValue) elements")
            }
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.storage = storage
        self.url = url
    }

    private init(copying other: StoredTensor, name: String) {
        self.name = name
        self.dtype = other.dtype
        self.shape = other.shape
        self.strides = other.strides
        self.storageOffset = other.storageOffset
        self.storage = other.storage
        self.url = other.url
    }

    /// The same tensor under another name.
    func renamed(_ newName: String) -> StoredTensor {
        StoredTensor(copying: self, name: newName)
    }

    /// Number of logical elements (1 for a scalar).
    var elementCount: Int { shape.reduce(1, *) }

    /// Whether the view is plain row-major over a contiguous run of storage.
    var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// Values in logical row-major order (honours storage offset and strides), converted to Float.
    /// Integers and booleans are converted exactly where Float can represent them.
    public func floats() throws -> [Float] {
        let count = elementCount
        if count == 0 { return [] }
        return storage.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let base = raw.baseAddress!
            if dtype == .float32 && isContiguous {
                return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    memcpy(buffer.baseAddress!, base + storageOffset * 4, count * 4)
                    #if _endian(big)
                        for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern)) }
                    #endif
                    initialized = count
                }
            }
            switch dtype {
            case .float32:
                return gather(base, width: 4) { Float(bitPattern: load(UInt32.self, $0)) }
            case .float16:
                return gather(base, width: 2) { halfToFloat(load(UInt16.self, $0)) }
            case .bfloat16:
                return gather(base, width: 2) { Float(bitPattern: UInt32(load(UInt16.self, $0)) << 16) }
            case .float64:
                return gather(base, width: 8) { Float(Double(bitPattern: load(UInt64.self, $0))) }
            case .int64:
                return gather(base, width: 8) { Float(Int64(bitPattern: load(UInt64.self, $0))) }
            case .int32:
                return gather(base, width: 4) { Float(Int32(bitPattern: load(UInt32.self, $0))) }
            case .int16:
                return gather(base, width: 2) { Float(Int16(bitPattern: load(UInt16.self, $0))) }
            case .int8:
                return gather(base, width: 1) { Float(Int8(bitPattern: $0.load(as: UInt8.self))) }
            case .uint8:
                return gather(base, width: 1) { Float($0.load(as: UInt8.self)) }
            case .bool:
                return gather(base, width: 1) { $0.load(as: UInt8.self) != 0 ? 1 : 0 }
            }
        }
    }

    /// Visits the addressed elements in row-major order, converting each with `convert`.
    @inline(__always)
    private func gather(
        _ base: UnsafeRawPointer, width: Int,
        _ convert: (UnsafeRawPointer) -> Float
    ) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(elementCount)
        let rank = shape.count
        if rank == 0 {
            out.append(convert(base + storageOffset * width))
            return out
        }
        let innerCount = shape[rank - 1]
        let innerStep = strides[rank - 1] * width
        var index = [Int](repeating: 0, count: rank)
        var position = storageOffset
        outer: while true {
            var pointer = base + position * width
            for _ in 0..<innerCount {
                out.append(convert(pointer))
                pointer += innerStep
            }
            var dim = rank - 2
            while dim >= 0 {
                index[dim] += 1
                position += strides[dim]
                if index[dim] < shape[dim] { continue outer }
                position -= strides[dim] * shape[dim]
                index[dim] = 0
                dim -= 1
            }
            return out
        }
    }
}

/// A little-endian integer at `pointer` (no alignment required).
@inline(__always)
private func load<T: FixedWidthInteger>(_ type: T.Type, _ pointer: UnsafeRawPointer) -> T {
    T(littleEndian: pointer.loadUnaligned(as: T.self))
}

/// IEEE 754 binary16 → Float, exact (subnormals, infinities and NaN included). Written out by
/// hand because `Float16` is unavailable on macOS/x86_64.
func halfToFloat(_ bits: UInt16) -> Float {
    let sign: UInt32 = UInt32(bits & 0x8000) << 16
    let exponent = UInt32((bits >> 10) & 0x1f)
    let mantissa = UInt32(bits & 0x3ff)
    switch exponent {
    case 0:
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 31:
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
