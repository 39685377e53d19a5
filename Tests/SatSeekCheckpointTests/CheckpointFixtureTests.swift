import Foundation
import Testing
import SatSeekCheckpoint

/// Every fixture written by PyTorch must read back with the same dtypes, shapes and values.
@Suite("Checkpoint fixtures")
struct CheckpointFixtureTests {
    static let plainFiles: [(String, CheckpointFormat)] = [
        ("tiny_legacy.pth", .torchLegacy),
        ("tiny_zip.pth", .torchZip),
        ("tiny.safetensors", .safetensors)
    ]

    @Test("plain state dicts match expected.json", arguments: plainFiles)
    func plainFixture(file: String, format: CheckpointFormat) throws {
        let expected = try ExpectedFixtures.load()
        let checkpoint = try Checkpoint.load(try fixture(file))
        #expect(checkpoint.format == format)
        #expect(checkpoint.url.lastPathComponent == file)
        let listed = try #require(expected.files[file]?.tensors, "expected.json lists no tensors for \(file)")
        #expect(checkpoint.names == listed.sorted())
        for reference in expected.tensors {
            let tensor = try #require(checkpoint.tensors[reference.name], "\(file) lacks \(reference.name)")
            #expect(tensor.name == reference.name)
            try expectMatches(tensor, reference, file: file)
        }
    }

    @Test("strided view, transposed tensor and scalar come out in logical order")
    func layoutCases() throws {
        for (file, _) in Self.plainFiles {
            let checkpoint = try Checkpoint.load(try fixture(file))
            // view.weight = big[2:5] with big = arange(24).reshape(8, 3) * 0.5 - 3
            let view = try checkpoint.floats("view.weight", shape: [3, 3])
            #expect(view == (6..<15).map { Float($0) * 0.5 - 3 }, "\(file)")
            let big = try checkpoint.floats("view.big", shape: [8, 3])
            #expect(Array(big[6..<15]) == view, "\(file)")
            #expect(try checkpoint.floats("bn.num_batches_tracked", shape: []) == [12345], "\(file)")
            #expect(
                try checkpoint.floats("bf.weight", shape: [4]) == [1.0, -2.5, 3.140625, 0.00099945068359375],
                "\(file)")
        }
    }

    @Test("a wrapped checkpoint flattens to state_dict.* and strips back to plain names")
    func wrappedFixture() throws {
        let expected = try ExpectedFixtures.load()
        let info = try #require(expected.files["tiny_wrapped_zip.pth"])
        let keys = try #require(info.keys)
        let prefix = (info.state_dict_key ?? "state_dict") + "."
        let checkpoint = try Checkpoint.load(try fixture("tiny_wrapped_zip.pth"))
        #expect(checkpoint.format == .torchZip)
        #expect(checkpoint.names == keys.map { prefix + $0 }.sorted(), "epoch (an int) must be dropped")

        let stripped = checkpoint.stripping(prefix: prefix)
        #expect(stripped.names == keys.sorted())
        #expect(stripped.url == checkpoint.url)
        #expect(stripped.format == .torchZip)
        let byName = expected.byName
        for key in keys {
            let tensor = try #require(stripped.tensors[key])
            #expect(tensor.name == key)
            try expectMatches(tensor, try #require(byName[key]), file: "tiny_wrapped_zip.pth")
        }
        #expect(checkpoint.stripping(prefix: "nothing.").tensors.isEmpty)
        // Asking the wrapped checkpoint for a plain name suggests the prefix to strip.
        let error = #expect(throws: CheckpointError.self) { try checkpoint.floats("conv.weight", shape: [4, 3, 3, 3]) }
        #expect(
            error?.description.hasSuffix(
                "closest: 'state_dict.conv.weight', so try stripping(prefix: \"state_dict.\"))") == true)
    }

    @Test("the same tensors read identically from all three formats")
    func formatsAgree() throws {
        let loaded = try Self.plainFiles.map { try Checkpoint.load(try fixture($0.0)) }
        for name in loaded[0].names {
            let shape = try #require(loaded[0].tensors[name]).shape
            let reference = try loaded[0].floats(name, shape: shape)
            for other in loaded.dropFirst() {
                #expect(try other.floats(name, shape: shape) == reference, "\(other.format): \(name)")
            }
        }
    }
}
