import Foundation

/// The 1 000 ImageNet-1k classes in the order of an ImageNet classifier's outputs (EfficientNet-Lite's `_fc`,
/// torchvision ResNets' `fc`): WordNet synset id and lemmas ("airliner", "container ship, containership, container
/// vessel").
public struct ImageNetLabels: Sendable {
    public struct Label: Sendable, Equatable {
        public let synset: String
        /// Comma-separated WordNet lemmas, most common first.
        public let lemmas: String
    }

    public static let count = 1000
    public let labels: [Label]

    /// Reads `imagenet-labels.tsv` (`synset<TAB>lemmas`, one line per class, classifier order).
    /// - Throws: Unless the file holds exactly 1 000 well-formed lines.
    public init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count < 1 << 20, let text = String(data: data, encoding: .utf8) else {
            throw ModelStoreError.invalidAsset(url.path, reason: "not a UTF-8 text file under 1 MiB")
        }
        labels = try Self.parse(text, path: url.path)
    }

    static func parse(_ text: String, path: String) throws -> [Label] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count == Self.count else {
            throw ModelStoreError.invalidAsset(path, reason: "\(lines.count) lines, expected \(Self.count)")
        }
        return try lines.enumerated().map { number, line in
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, fields[0].hasPrefix("n"), !fields[1].isEmpty else {
                throw ModelStoreError.invalidAsset(path, reason: "line \(number + 1) is not `synset<TAB>lemmas`")
            }
            return Label(synset: String(fields[0]), lemmas: String(fields[1]))
        }
    }
}

extension ModelStore {
    private static let imageNetLabelsFileName = "imagenet-labels.tsv"
    private static let timmSynsetsPath = "timm/data/_info/imagenet_synsets.txt"
    private static let timmLemmasPath = "timm/data/_info/imagenet_synset_to_lemma.txt"

    /// The installed `imagenet-labels.tsv`, if present.
    public var imageNetLabelsFile: URL? {
        let url = directory.appendingPathComponent(Self.imageNetLabelsAssetName, isDirectory: true)
            .appendingPathComponent(Self.imageNetLabelsFileName)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// The installed ImageNet class names.
    /// - Throws: ``ModelStoreError/notInstalled(_:directory:hint:)`` when the asset is missing; when the file is malformed.
    public func imageNetLabels() throws -> ImageNetLabels {
        guard let file = imageNetLabelsFile else {
            throw notInstalled(Self.imageNetLabelsAssetName)
        }
        return try ImageNetLabels(contentsOf: file)
    }

    /// Downloads the `timm` wheel, joins its ImageNet-1k synset list (classifier order) with the WordNet lemmas of
    /// each synset, and writes `imagenet-labels.tsv` and `LICENSE.txt` into `<store>/imagenet-labels/` (written
    /// under temporary names, then renamed).
    /// - Returns: The installed `imagenet-labels.tsv`.
    @discardableResult
    public func installImageNetLabels(python: String = "python3") throws -> URL {
        let asset = Self.imageNetLabelsAssetName
        let wheel = try downloadWheel(Self.textAssets.first { $0.name == asset }!, python: python)
        let folder = directory.appendingPathComponent(asset, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let synsetsFile = folder.appendingPathComponent(".synsets.txt")
        let lemmasFile = folder.appendingPathComponent(".lemmas.txt")
        defer {
            try? FileManager.default.removeItem(at: synsetsFile)
            try? FileManager.default.removeItem(at: lemmasFile)
        }
        _ = try Self.extractFile(wheel: wheel, entryPath: Self.timmSynsetsPath, to: synsetsFile, asset: asset)
        _ = try Self.extractFile(wheel: wheel, entryPath: Self.timmLemmasPath, to: lemmasFile, asset: asset)
        var lemmas: [Substring: Substring] = [:]
        for line in try String(contentsOf: lemmasFile, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 1)
            if fields.count == 2 { lemmas[fields[0]] = fields[1] }
        }
        let synsets = try String(contentsOf: synsetsFile, encoding: .utf8).split(separator: "\n")
        let rows = try synsets.map { synset -> String in
            guard let names = lemmas[synset] else {
                throw ModelStoreError.installFailed(
                    asset, reason: "\(wheel.lastPathComponent): no lemmas for \(synset)")
            }
            return "\(synset)\t\(names)"
        }
        let table = rows.joined(separator: "\n") + "\n"
        _ = try ImageNetLabels.parse(table, path: wheel.path)
        try """
        imagenet-labels.tsv: ImageNet-1k class order and WordNet lemmas, from \(Self.timmSynsetsPath) and
        \(Self.timmLemmasPath) of the PyPI package timm (\(wheel.lastPathComponent), Apache-2.0). The lemmas are
        WordNet 3.0's (© Princeton University, WordNet License).

        """.write(to: folder.appendingPathComponent("LICENSE.txt"), atomically: true, encoding: .utf8)
        let destination = folder.appendingPathComponent(Self.imageNetLabelsFileName)
        try table.write(to: destination, atomically: true, encoding: .utf8)
        return destination
    }
}
