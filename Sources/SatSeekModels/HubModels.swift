import Foundation

/// A CLIP-family checkpoint that `satseek models install NAME` fetches from the Hugging Face hub.
public struct HubModel: Sendable, Codable, Equatable {
    /// One file of the checkpoint, as it lies in the repository.
    public struct File: Sendable, Codable, Equatable {
        /// Path inside the repository (`RemoteCLIP-ViT-B-32.pt`, `ckpt/RS5M_ViT-B-32.pt`, `config.json`).
        public let path: String
        /// Bytes, when the registry records them (checked after the download).
        public let size: Int64?
        /// Lower-case hex SHA-256, when the registry records it (checked after the download).
        public let sha256: String?

        public init(path: String, size: Int64? = nil, sha256: String? = nil) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The name `satseek models install` and `--model` know it by.
    public let name: String
    /// `owner/name` on the hub.
    public let repo: String
    /// Branch, tag or commit.
    public let revision: String
    public let files: [File]
    /// Vision tower (`ViT-B-32`, `ViT-L-14`, `RN50`).
    public let architecture: String
    public let licence: String
    /// Why SatSeek cannot load it yet, if it cannot.
    public let unsupported: String?

    public init(
        name: String, repo: String, revision: String = "main", files: [File], architecture: String, licence: String,
        unsupported: String? = nil
    ) {
        (self.name, self.repo, self.revision, self.files) = (name, repo, revision, files)
        (self.architecture, self.licence, self.unsupported) = (architecture, licence, unsupported)
    }

    /// What `CLIPModel(url:)` opens once installed: the folder for a Hugging Face layout (several files), else the
    /// one weights file.
    func loadTarget(in folder: URL) -> URL {
        files.count == 1 ? folder.appendingPathComponent(Self.localName(files[0].path)) : folder
    }

    /// Where a repository file is kept in the model's folder: its last path component (the hub's sub-folders are
    /// not kept; two files of one entry never share a name).
    static func localName(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}

extension ModelStore {
    /// The CLIP-family checkpoints `satseek models install` knows (repositories and files as their authors publish
    /// them). Sizes and SHA-256 digests are not recorded here: this registry was written on a machine that cannot
    /// reach the hub, so none could be read; the installer prints each file's digest for the user to pin.
    public static let hubModels: [HubModel] = {
        let json = #"""
            [
              {"name": "remoteclip-vit-b-32", "repo": "chendelong/RemoteCLIP", "revision": "main",
               "files": [{"path": "RemoteCLIP-ViT-B-32.pt"}], "architecture": "ViT-B-32", "licence": "Apache-2.0"},
              {"name": "remoteclip-vit-l-14", "repo": "chendelong/RemoteCLIP", "revision": "main",
               "files": [{"path": "RemoteCLIP-ViT-L-14.pt"}], "architecture": "ViT-L-14", "licence": "Apache-2.0"},
              {"name": "remoteclip-rn50", "repo": "chendelong/RemoteCLIP", "revision": "main",
               "files": [{"path": "RemoteCLIP-RN50.pt"}], "architecture": "RN50", "licence": "Apache-2.0"},
              {"name": "georsclip-vit-b-32", "repo": "Zilun/GeoRSCLIP", "revision": "main",
               "files": [{"path": "ckpt/RS5M_ViT-B-32.pt"}], "architecture": "ViT-B-32",
               "licence": "see https://huggingface.co/Zilun/GeoRSCLIP"},
              {"name": "georsclip-vit-l-14", "repo": "Zilun/GeoRSCLIP", "revision": "main",
               "files": [{"path": "ckpt/RS5M_ViT-L-14.pt"}], "architecture": "ViT-L-14",
               "licence": "see https://huggingface.co/Zilun/GeoRSCLIP"},
              {"name": "openai-clip-vit-b-32", "repo": "openai/clip-vit-base-patch32", "revision": "main",
               "files": [{"path": "config.json"}, {"path": "pytorch_model.bin"}, {"path": "vocab.json"},
                         {"path": "merges.txt"}],
               "architecture": "ViT-B-32", "licence": "MIT (OpenAI CLIP)"},
              {"name": "openai-clip-vit-l-14", "repo": "openai/clip-vit-large-patch14", "revision": "main",
               "files": [{"path": "config.json"}, {"path": "pytorch_model.bin"}, {"path": "vocab.json"},
                         {"path": "merges.txt"}],
               "architecture": "ViT-L-14", "licence": "MIT (OpenAI CLIP)"}
            ]
            """#
        return try! JSONDecoder().decode([HubModel].self, from: Data(json.utf8))
    }()

    /// The hub endpoint: `SATSEEK_HF_ENDPOINT` (a mirror) or https://huggingface.co.
    public static var hubEndpoint: URL {
        ProcessInfo.processInfo.environment["SATSEEK_HF_ENDPOINT"].flatMap(URL.init(string:))
            ?? URL(string: "https://huggingface.co")!
    }

    /// The folder a hub model is installed in (whether or not it is there).
    public func hubFolder(_ model: HubModel) -> URL {
        directory.appendingPathComponent(model.name, isDirectory: true)
    }

    /// What `CLIPModel(url:)` opens for an installed hub model, or nil when a file is missing.
    public func hubModelLocation(_ model: HubModel) -> URL? {
        let folder = hubFolder(model)
        let complete = model.files.allSatisfy {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(HubModel.localName($0.path)).path)
        }
        return complete ? model.loadTarget(in: folder) : nil
    }

    /// Downloads every file of `model` that is not there yet into `<store>/<name>/` (each resumable and checked,
    /// see ``HubDownloader``).
    /// - Parameter idleTimeout: Seconds without a byte read before a transfer counts as stalled (it is kept to
    ///   resume). The body is read only as fast as this task consumes it, so the clock also runs while the task
    ///   waits for a thread.
    /// - Returns: What `CLIPModel(url:)` opens.
    @discardableResult
    public func installHubModel(
        _ model: HubModel, endpoint: URL = ModelStore.hubEndpoint, idleTimeout: Int64 = 60,
        progress: @escaping @Sendable (_ file: String, _ done: Int64, _ total: Int64?) -> Void = { _, _, _ in },
        fetched: @Sendable (_ file: String, _ sha256: String, _ bytes: Int64) -> Void = { _, _, _ in }
    ) async throws -> URL {
        let folder = hubFolder(model)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var downloader = HubDownloader(endpoint: endpoint)
        downloader.idleTimeout = idleTimeout
        for file in model.files {
            let destination = folder.appendingPathComponent(HubModel.localName(file.path))
            if FileManager.default.fileExists(atPath: destination.path) { continue }
            let (digest, bytes) = try await downloader.fetch(
                repo: model.repo, revision: model.revision, file: file, to: destination
            ) { done, total in progress(file.path, done, total) }
            fetched(file.path, digest, bytes)
        }
        try """
        \(model.name): https://huggingface.co/\(model.repo) (revision \(model.revision)); licence: \(model.licence).

        """.write(to: folder.appendingPathComponent("SOURCE.txt"), atomically: true, encoding: .utf8)
        return model.loadTarget(in: folder)
    }
}
