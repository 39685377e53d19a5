import Foundation
import Testing
import SatSeekCheckpoint

/// `Fixtures/expected.json`, written by scripts/reference/make_checkpoint_fixtures.py with PyTorch.
struct ExpectedFixtures: Decodable {
    struct Tensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let stride: [Int]
        let storage_offset: Int
        let values: [Double]
    }
    struct File: Decodable {
        let format: String
        let tensors: [String]?
        let keys: [String]?
        let state_dict_key: String?
    }
    let torch_version: String
    let files: [String: File]
    let tensors: [Tensor]

    var byName: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
    }

    static func load() throws -> ExpectedFixtures {
        try JSONDecoder().decode(ExpectedFixtures.self, from: Data(contentsOf: fixture("expected.json")))
    }
}

/// A file in the bundled `Fixtures` folder.
func fixture(_ name: String) throws -> URL {
    let folder = try #require(
        Bundle.module.url(forResource: "Fixtures", withExtension: nil),
        "Fixtures folder missing from the test bundle")
    let url = folder.appendingPathComponent(name)
    try #require(
        FileManager.default.fileExists(atPath: url.path),
        "fixture \(name) missing: run .venv-ref/bin/python scripts/reference/make_checkpoint_fixtures.py")
    return url
}

/// A fresh temporary directory, removed by the caller via `defer`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("satseek-ckpt-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Loads `url`, expecting a `CheckpointError`, and returns its description.
func loadError(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        let checkpoint = try Checkpoint.load(url)
        Issue.record(
            "expected \(url.lastPathComponent) to fail, loaded \(checkpoint.tensors.count) tensors",
            sourceLocation: sourceLocation)
        return nil
    } catch let error as CheckpointError {
        return error.description
    } catch {
        Issue.record("expected a CheckpointError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Asserts that `tensor` matches the PyTorch reference: dtype, shape, and every value exactly
/// (float16/bfloat16/float32 values are exact in Float; float64 is compared after Float rounding).
func expectMatches(
    _ tensor: StoredTensor, _ expected: ExpectedFixtures.Tensor, file: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(
        tensor.dtype.rawValue == expected.dtype, "\(file): \(expected.name) dtype",
        sourceLocation: sourceLocation)
    #expect(tensor.shape == expected.shape, "\(file): \(expected.name) shape", sourceLocation: sourceLocation)
    let values = try tensor.floats()
    let reference = expected.values.map { Float($0) }
    #expect(values.count == reference.count, "\(file): \(expected.name) count", sourceLocation: sourceLocation)
    let mismatches = zip(values, reference).enumerated().filter { $0.element.0 != $0.element.1 }
    #expect(
        mismatches.isEmpty,
        "\(file): \(expected.name) differs at \(mismatches.prefix(5).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" })",
        sourceLocation: sourceLocation)
}
