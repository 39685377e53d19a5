import Foundation
import Testing
import SatSeekCheckpoint

/// The real EfficientNet-Lite0 ImageNet checkpoint (legacy pickle format, ~18 MB), when present.
///
/// Looked up as `$SATSEEK_MODEL_DIR/efficientnet-lite0*.pth`, then
/// `~/.cache/satseek/models/efficientnet-lite0*.pth` (where `satseek models install` puts it,
/// e.g. `efficientnet-lite0-57934424.pth`). Absent: the test passes silently unless
/// `SATSEEK_REQUIRE_MODELS=1`, in which case it fails saying where it looked.
@Suite("EfficientNet-Lite0 checkpoint")
struct EfficientNetLiteCheckpointTests {
    static let fileName = "efficientnet-lite0*.pth"

    /// The checkpoint files named `efficientnet-lite0*.pth` in the model folder
    /// (`$SATSEEK_MODEL_DIR` if set, as `ModelStore` does, else `~/.cache/satseek/models`).
    static func candidates() -> [URL] {
        let directory: URL
        if let env = ProcessInfo.processInfo.environment["SATSEEK_MODEL_DIR"], !env.isEmpty {
            directory = URL(fileURLWithPath: env)
        } else {
            directory = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/satseek/models")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let matches = names.sorted().filter { $0.hasPrefix("efficientnet-lite0") && $0.hasSuffix(".pth") }
        return matches.isEmpty
            ? [directory.appendingPathComponent(fileName)]
            : matches.map { directory.appendingPathComponent($0) }
    }

    @Test("loads all 296 tensors with the expected names, shapes and dtypes")
    func lite0() throws {
        let candidates = Self.candidates()
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
                let places = candidates.map { $0.path }.joined(separator: ", ")
                Issue.record(
                    """
                    SATSEEK_REQUIRE_MODELS=1 but \(Self.fileName) was not found; looked at \(places) \
                    (set SATSEEK_MODEL_DIR to the folder holding it)
                    """)
            }
            return
        }
        let checkpoint = try Checkpoint.load(url)
        #expect(checkpoint.format == .torchLegacy)
        #expect(checkpoint.tensors.count == 296)
        let fileSize = try #require(try url.resolvingSymlinksInPath().resourceValues(forKeys: [.fileSizeKey]).fileSize)

        let stem = try checkpoint.floats("_conv_stem.weight", shape: [32, 3, 3, 3])
        #expect(stem.allSatisfy { $0.isFinite })
        let fc = try checkpoint.floats("_fc.weight", shape: [1000, 1280])
        #expect(fc.allSatisfy { $0.isFinite })
        #expect(try checkpoint.floats("_fc.bias", shape: [1000]).count == 1000)
        #expect(checkpoint.tensors["_bn0.num_batches_tracked"]?.dtype == .int64)
        #expect(checkpoint.tensors["_bn0.num_batches_tracked"]?.shape == [])
        #expect(checkpoint.tensors["_blocks.0._depthwise_conv.weight"]?.shape == [32, 1, 3, 3])

        // Every tensor converts; together they hold no more than the file's bytes.
        var elementBytes = 0
        for name in checkpoint.names {
            let tensor = try #require(checkpoint.tensors[name])
            let values = try tensor.floats()
            #expect(values.count == tensor.shape.reduce(1, *), "\(name)")
            #expect(tensor.dtype == (name.hasSuffix("num_batches_tracked") ? .int64 : .float32), "\(name)")
            elementBytes += values.count * (tensor.dtype == .int64 ? 8 : 4)
        }
        #expect(elementBytes <= fileSize)
        #expect(elementBytes > fileSize * 9 / 10, "the file is almost all weights")
    }
}
