import Foundation
import Testing
import SatSeekCheckpoint

/// The pickle machine on hand-made legacy checkpoints: protocol 4 opcodes, OrderedDict with
/// `_metadata` (BUILD), `_rebuild_parameter`, and the refusal of arbitrary globals and opcodes.
@Suite("Pickle machine")
struct PickleTests {
    /// `torch.save(sd, f, _use_new_zipfile_serialization=False, pickle_protocol=4)` (torch 2.13) with
    /// `sd = nn.Linear(3, 2).state_dict()` (seed 1) plus `p = nn.Parameter([1.5, -2])` and
    /// `h = tensor([[1, 2], [3, 4]], dtype=int16).t()`: FRAME, MEMOIZE, STACK_GLOBAL,
    /// SHORT_BINUNICODE, BUILD of OrderedDict state, ShortStorage, transposed strides.
    static let protocol4Legacy = hexBytes([
        "8004950d000000000000008a0a6cfc9c46f9206aa850192e80049504000000000000004de9032e800495580000000000",
        "00007d94288c1070726f746f636f6c5f76657273696f6e944de9038c0d6c6974746c655f656e6469616e94888c0a7479",
        "70655f73697a6573947d94288c0573686f7274944b028c03696e74944b048c046c6f6e67944b0475752e800495bb0100",
        "00000000008c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0677656967687494",
        "8c0c746f7263682e5f7574696c73948c125f72656275696c645f74656e736f725f763294939428288c0773746f726167",
        "65948c05746f726368948c0c466c6f617453746f726167659493948c0e3934343436383734313930303936948c036370",
        "75944b064e7494514b004b024b0386944b034b018694896802295294749452948c046269617394680728286808680b8c",
        "0e393434343638373431393032343094680d4b024e7494514b004b0285944b018594896802295294749452948c017094",
        "68058c125f72656275696c645f706172616d65746572949394680728286808680b8c0e39343434363936303630303830",
        "3094680d4b024e7494514b004b0285944b01859489680229529474945294886802295294879452948c01689468072828",
        "680868098c0c53686f727453746f726167659493948c0e393434343639363036303138353694680d4b044e7494514b00",
        "4b024b0286944b014b02869489680229529474945294757d948c095f6d657461646174619468022952948c00947d948c",
        "0776657273696f6e944b01737373622e80049549000000000000005d94288c0e3934343436383734313930303936948c",
        "0e3934343436383734313930323430948c0e3934343436393630363030383030948c0e39343434363936303630313835",
        "3694652e06000000000000004350983e0e7982be7339e5bd3dbf8a3e5c250bbf4747b13e02000000000000009a40f3bd",
        "ea62963e02000000000000000000c03f000000c004000000000000000100020003000400"
    ])

    /// Protocol-2 preamble of a legacy file: magic, version 1001, empty sys-info dict (25 bytes).
    static let legacyPreamble = hexBytes(["80028a0a6cfc9c46f9206aa850192e", "80024de9032e", "80027d2e"])
    /// An empty storage-key list pickle.
    static let emptyKeyList = hexBytes(["80025d2e"])

    @Test("protocol 4 legacy checkpoint with OrderedDict, parameter and int16 storage")
    func protocol4() throws {
        let url = try write(Self.protocol4Legacy, as: "linear.pth")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let checkpoint = try Checkpoint.load(url)
        #expect(checkpoint.format == .torchLegacy)
        #expect(checkpoint.names == ["bias", "h", "p", "weight"])
        #expect(
            try checkpoint.floats("weight", shape: [2, 3]) == [
                0.2974873483181, -0.2548298239707947, -0.11192598193883896,
                0.2709902822971344, -0.5435388088226318, 0.3462469279766083
            ])
        #expect(try checkpoint.floats("bias", shape: [2]) == [-0.11877556145191193, 0.2937234044075012])
        #expect(try checkpoint.floats("p", shape: [2]) == [1.5, -2])
        #expect(checkpoint.tensors["h"]?.dtype == .int16)
        #expect(try checkpoint.floats("h", shape: [2, 2]) == [1, 3, 2, 4])
    }

    @Test("calling a global outside the whitelist is refused by name")
    func unsupportedGlobal() throws {
        // GLOBAL 'os system', BINUNICODE 'ls', TUPLE1, REDUCE, STOP
        let main = hexBytes(["8002", "636f730a73797374656d0a", "5802000000", "6c73", "85", "52", "2e"])
        let url = try write(Self.legacyPreamble + main + Self.emptyKeyList, as: "evil.pth")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let message = try #require(loadError(url))
        #expect(message.hasPrefix("\(url.path): unsupported global 'os.system'"), "\(message)")
    }

    @Test("an opcode the machine does not implement is reported with its offset")
    func unsupportedOpcode() throws {
        // INST (0x69) right after PROTO: offset 25 + 2.
        let main = hexBytes(["8002", "69", "6f730a73797374656d0a", "2e"])
        let url = try write(Self.legacyPreamble + main + Self.emptyKeyList, as: "old.pth")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let message = try #require(loadError(url))
        #expect(message == "\(url.path): unsupported pickle opcode 0x69 at offset 27")
    }

    @Test("a pickle without the torch magic number is not a checkpoint")
    func plainPickle() throws {
        let url = try write(hexBytes(["80027d2e"]), as: "dict.pkl")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let message = try #require(loadError(url))
        #expect(message.hasPrefix("\(url.path): not a PyTorch or safetensors checkpoint"), "\(message)")
    }

    @Test("non-tensor leaves are dropped and nested dicts are flattened")
    func nestedContainers() throws {
        // {'epoch': 3, 'meta': {'name': 'x'}, 'empty': {}} has no tensors at all.
        let main = hexBytes([
            "80027d28", "5805000000", "65706f6368", "4b03",
            "5804000000", "6d657461", "7d", "5804000000", "6e616d65", "5801000000", "78", "73",
            "5805000000", "656d707479", "7d", "752e"
        ])
        let url = try write(Self.legacyPreamble + main + Self.emptyKeyList, as: "meta.pth")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let checkpoint = try Checkpoint.load(url)
        #expect(checkpoint.tensors.isEmpty)
    }

    private func write(_ bytes: [UInt8], as name: String) throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

/// Bytes from hex strings (whitespace-free, two digits per byte).
func hexBytes(_ parts: [String]) -> [UInt8] {
    let text = Array(parts.joined().utf8)
    return stride(from: 0, to: text.count - 1, by: 2).map { i in
        UInt8(String(decoding: text[i...i + 1], as: UTF8.self), radix: 16)!
    }
}
