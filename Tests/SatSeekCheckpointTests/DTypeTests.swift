import Foundation
import Testing
import SatSeekCheckpoint

/// Element conversions the PyTorch fixtures do not reach (special half values, small integer
/// types, bool), through hand-written safetensors files, plus header validation.
@Suite("Element types and safetensors headers")
struct DTypeTests {
    /// A safetensors file with one tensor per (name, dtype, shape, bytes).
    static func safetensors(_ tensors: [(String, String, [Int], [UInt8])]) -> Data {
        var entries: [String] = []
        var buffer: [UInt8] = []
        for (name, dtype, shape, bytes) in tensors {
            entries.append(
                "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),"
                    + "\"data_offsets\":[\(buffer.count),\(buffer.count + bytes.count)]}")
            buffer += bytes
        }
        let header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
        var length = UInt64(header.count).littleEndian
        return Data(bytes: &length, count: 8) + Data(header) + Data(buffer)
    }

    static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    func load(_ data: Data, name: String = "types.safetensors") throws -> (Checkpoint, URL) {
        let directory = try makeTemporaryDirectory()
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return (try Checkpoint.load(url), directory)
    }

    @Test("float16 specials, bfloat16, integers and bool convert exactly")
    func conversions() throws {
        let half: [UInt16] = [0x0000, 0x8000, 0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00]
        let data = Self.safetensors([
            ("h", "F16", [9], Self.le(half)),
            ("nan", "F16", [], Self.le([UInt16(0x7e00)])),
            ("bf", "BF16", [2, 1], Self.le([UInt16(0x3f80), UInt16(0xc2f7)])),
            ("i8", "I8", [3], [0x80, 0xff, 0x7f]),
            ("u8", "U8", [2], [0x00, 0xff]),
            ("i16", "I16", [2], Self.le([Int16.min, 300])),
            ("i32", "I32", [2], Self.le([Int32(-7), 1 << 24])),
            ("b", "BOOL", [3], [0, 1, 2]),
            ("empty", "F32", [0, 4], [])
        ])
        let (checkpoint, directory) = try load(data)
        defer { try? FileManager.default.removeItem(at: directory) }
        let h = try checkpoint.floats("h", shape: [9])
        #expect(h[0] == 0 && h[0].sign == .plus && h[1] == 0 && h[1].sign == .minus)
        #expect(h[2] == 0x1p-24 && h[3] == 1023 * 0x1p-24)
        #expect(Array(h[4...]) == [1, -2, 65504, .infinity, -.infinity])
        #expect(try checkpoint.floats("nan", shape: []).first?.isNaN == true)
        #expect(try checkpoint.floats("bf", shape: [2, 1]) == [1, -123.5])
        #expect(try checkpoint.floats("i8", shape: [3]) == [-128, -1, 127])
        #expect(try checkpoint.floats("u8", shape: [2]) == [0, 255])
        #expect(try checkpoint.floats("i16", shape: [2]) == [-32768, 300])
        #expect(try checkpoint.floats("i32", shape: [2]) == [-7, 16_777_216])
        #expect(try checkpoint.floats("b", shape: [3]) == [0, 1, 1])
        #expect(try checkpoint.floats("empty", shape: [0, 4]) == [])
        #expect(checkpoint.tensors["b"]?.dtype == .bool)
        #expect(checkpoint.tensors["nan"]?.shape == [])
    }

    @Test("offsets past the buffer are reported as truncation, size mismatches as malformed")
    func headerValidation() throws {
        var data = Self.safetensors([("w", "F32", [2], Self.le([UInt32(0), 0]))])
        data.removeLast(3)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cut = directory.appendingPathComponent("cut.safetensors")
        try data.write(to: cut)
        #expect(
            loadError(cut) == "\(cut.path): file is truncated: tensor 'w' needs bytes 0..<8 of the data "
                + "buffer at offset \(data.count - 5), only 5 available")

        let wrong = directory.appendingPathComponent("wrong.safetensors")
        try Self.safetensors([("w", "F32", [3], Self.le([UInt32(0), 0]))]).write(to: wrong)
        #expect(
            loadError(wrong) == "\(wrong.path): malformed checkpoint: tensor 'w' has 8 bytes but shape [3] "
                + "of F32 needs 12")

        let fp8 = directory.appendingPathComponent("fp8.safetensors")
        try Self.safetensors([("w", "F8_E4M3", [2], [0, 0])]).write(to: fp8)
        #expect(loadError(fp8) == "\(fp8.path): unsupported tensor element type 'F8_E4M3'")
    }
}
