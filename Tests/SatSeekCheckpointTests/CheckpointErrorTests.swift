import Foundation
import Testing
import SatSeekCheckpoint

/// Broken inputs must fail with a `CheckpointError` whose message names the file and the reason.
@Suite("Checkpoint errors")
struct CheckpointErrorTests {
    static let files = ["tiny_legacy.pth", "tiny_zip.pth", "tiny.safetensors", "tiny_wrapped_zip.pth"]

    @Test("a truncated copy names the file and says it is truncated", arguments: files)
    func truncated(file: String) throws {
        let original = try Data(contentsOf: try fixture(file))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("cut-" + file)
        try original.prefix(original.count * 9 / 10).write(to: url)
        let message = try #require(loadError(url))
        #expect(message.contains(url.path), "\(message)")
        #expect(message.contains("file is truncated"), "\(message)")
    }

    @Test("the legacy reader names the storage that is cut short")
    func truncatedLegacyStorage() throws {
        let original = try Data(contentsOf: try fixture("tiny_legacy.pth"))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.pth")
        try original.dropLast(2).write(to: url)  // inside the last storage's bytes (its element count stays whole)
        let message = try #require(loadError(url))
        #expect(message.hasPrefix(url.path + ": file is truncated: storage '"), "\(message)")
        #expect(message.contains("bytes at offset"), "\(message)")
        #expect(message.contains("available"), "\(message)")
    }

    @Test("every cut point fails cleanly, never crashes", arguments: files)
    func everyCutPoint(file: String) throws {
        let original = try Data(contentsOf: try fixture(file))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(file)
        for length in stride(from: 0, to: original.count, by: 13) {
            try original.prefix(length).write(to: url)
            guard let message = loadError(url) else { continue }
            #expect(message.hasPrefix(url.path + ": "), "cut at \(length): \(message)")
        }
    }

    @Test("a text file renamed .pth is rejected with its first bytes")
    func textFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.pth")
        try Data("<html><body>404 Not Found</body></html>\n".utf8).write(to: url)
        let message = try #require(loadError(url))
        #expect(message == "\(url.path): not a PyTorch or safetensors checkpoint (first bytes 3c 68 74 6d 6c 3e 3c 62)")
    }

    @Test("an empty file is rejected as empty")
    func emptyFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("empty.safetensors")
        try Data().write(to: url)
        let message = try #require(loadError(url))
        #expect(message == "\(url.path): not a PyTorch or safetensors checkpoint (file is empty)")
    }

    @Test("a missing file is reported as unreadable")
    func missingFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).pth")
        let message = try #require(loadError(url))
        #expect(message == url.path + ": cannot read file: no such file")
    }

    @Test("a missing tensor names the closest existing one", arguments: files.prefix(3))
    func missingTensor(file: String) throws {
        let checkpoint = try Checkpoint.load(try fixture(file))
        do {
            _ = try checkpoint.floats("bn.wieght", shape: [4])
            Issue.record("expected missingTensor")
        } catch let error as CheckpointError {
            guard case .missingTensor(_, let name, let available, let closest) = error else {
                Issue.record("wrong case: \(error)")
                return
            }
            #expect(name == "bn.wieght")
            #expect(available == 11)
            #expect(closest == "bn.weight")
            #expect(
                error.description == "\(checkpoint.url.path): tensor 'bn.wieght' is missing "
                    + "(checkpoint has 11 tensors; closest: 'bn.weight')")
        }
    }

    @Test("a mis-shaped lookup names both shapes", arguments: files.prefix(3))
    func shapeMismatch(file: String) throws {
        let checkpoint = try Checkpoint.load(try fixture(file))
        do {
            _ = try checkpoint.floats("conv.weight", shape: [4, 3])
            Issue.record("expected shapeMismatch")
        } catch let error as CheckpointError {
            guard case .shapeMismatch(_, "conv.weight", [4, 3, 3, 3], [4, 3]) = error else {
                Issue.record("wrong case: \(error)")
                return
            }
            #expect(
                error.description == "\(checkpoint.url.path): tensor 'conv.weight' has shape [4, 3, 3, 3] "
                    + "but the model expects [4, 3]")
        }
        // A scalar is not a one-element vector.
        #expect(throws: CheckpointError.self) { try checkpoint.floats("bn.num_batches_tracked", shape: [1]) }
    }
}
