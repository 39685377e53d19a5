import Crypto
import Foundation
import Synchronization
import SatSeekTestSupport
import Testing
@testable import SatSeekModels

/// `satseek models install` for hub checkpoints, end to end against a local stand-in for the Hugging Face hub that
/// serves the tiny random-weight CLIP of the parity tests in the hub's layout (`/REPO/resolve/REVISION/PATH`),
/// honours `Range`, and can drop a transfer half-way.
@Suite("Hub installer")
struct HubInstallerTests {
    static let folder = Bundle.module.url(forResource: "Golden/clip-tiny/hf", withExtension: nil)!

    /// The stand-in hub: files of `satseek/tiny-clip` at revision `main`; the first `drops` full requests are cut
    /// after `dropAfter` bytes.
    final class Hub: @unchecked Sendable {
        let files: [String: Data]
        let lock = NSLock()
        var drops: Int
        let dropAfter: Int
        var ranges: [String] = []
        var stub: ThreadedHTTPStub!

        init(files: [String: Data], drops: Int = 0, dropAfter: Int = 0) throws {
            self.files = files
            self.drops = drops
            self.dropAfter = dropAfter
            stub = try ThreadedHTTPStub { [unowned self] request in self.answer(request) }
        }

        func answer(_ request: ThreadedHTTPStub.Request) -> ThreadedHTTPStub.Reply {
            let prefix = "/satseek/tiny-clip/resolve/main/"
            guard request.target.hasPrefix(prefix), let body = files[String(request.target.dropFirst(prefix.count))]
            else { return .init(status: 404, body: Data("not found".utf8)) }
            lock.lock()
            defer { lock.unlock() }
            if let range = request.headers["range"] {
                ranges.append(range)
                let start = Int(range.dropFirst("bytes=".count).split(separator: "-")[0]) ?? 0
                guard start < body.count else { return .init(status: 416, body: Data()) }
                return .init(
                    status: 206, contentType: "application/octet-stream", body: body.subdata(in: start..<body.count),
                    headers: ["Content-Range": "bytes \(start)-\(body.count - 1)/\(body.count)"])
            }
            if drops > 0 {
                drops -= 1
                return .init(status: 200, contentType: "application/octet-stream", body: body, truncateAfter: dropAfter)
            }
            return .init(status: 200, contentType: "application/octet-stream", body: body)
        }
    }

    /// The installer's stall timeout in these tests. Its body is read only as fast as the installing task consumes
    /// it, and in the test process that task can wait minutes for one of the two cooperative threads (sixty
    /// seconds failed now and then under load); no test here relies on the timeout.
    static let idleTimeout: Int64 = 900

    static func digest(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    static func tinyFiles() throws -> [String: Data] {
        [
            "config.json": try Data(contentsOf: folder.appendingPathComponent("config.json")),
            "model.safetensors": try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))
        ]
    }

    static func entry(_ files: [String: Data], corrupt: Bool = false) -> HubModel {
        HubModel(
            name: "tiny-clip", repo: "satseek/tiny-clip",
            files: files.keys.sorted().map { path in
                let data = files[path]!
                return .init(
                    path: path, size: Int64(data.count),
                    sha256: corrupt && path == "model.safetensors" ? String(repeating: "0", count: 64) : digest(data))
            }, architecture: "ViT-tiny", licence: "test")
    }

    /// A stand-in hub serving `files` and an empty model store; both are gone with the value.
    final class Setup {
        let files: [String: Data]
        let hub: Hub
        let store: ModelStore
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString)")

        init(files: [String: Data]? = nil, drops: Int = 0, dropAfter: Int = 0) throws {
            self.files = try files ?? HubInstallerTests.tinyFiles()
            hub = try Hub(files: self.files, drops: drops, dropAfter: dropAfter)
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            store = ModelStore(directory: root)
        }

        deinit {
            hub.stub.stop()
            try? FileManager.default.removeItem(at: root)
        }
    }

    @Test("a checkpoint in the hub's layout installs, verifies and loads as a CLIP model")
    func installsAndLoads() async throws {
        let setup = try Setup()
        defer { withExtendedLifetime(setup) {} }  // the hub and the store live to the end
        let (files, hub, store) = (setup.files, setup.hub, setup.store)
        let entry = Self.entry(files)
        #expect(store.hubModelLocation(entry) == nil)
        let fetched = Mutex<[String]>([])
        let location = try await store.installHubModel(
            entry, endpoint: hub.stub.url, idleTimeout: Self.idleTimeout,
            fetched: { file, digest, _ in fetched.withLock { $0.append("\(file) \(digest)") } })
        #expect(location == store.hubFolder(entry))
        #expect(store.hubModelLocation(entry) == location)
        #expect(fetched.withLock { $0 }.sorted() == files.keys.sorted().map { "\($0) \(Self.digest(files[$0]!))" })
        let model = try CLIPModel(url: location)
        #expect(model.architecture.embedDimensions == 32)
        // Installed files are not fetched again.
        let requests = hub.stub.targets.count
        _ = try await store.installHubModel(entry, endpoint: hub.stub.url, idleTimeout: Self.idleTimeout)
        #expect(hub.stub.targets.count == requests)
    }

    @Test("a transfer cut half-way keeps its bytes and the next run resumes them with a Range request")
    func resumes() async throws {
        let setup = try Setup(drops: 2, dropAfter: 1_000_000)
        defer { withExtendedLifetime(setup) {} }  // the hub and the store live to the end
        let (files, hub, store) = (setup.files, setup.hub, setup.store)
        let size = files["model.safetensors"]!.count
        let entry = Self.entry(files)
        await #expect {
            try await store.installHubModel(entry, endpoint: hub.stub.url, idleTimeout: Self.idleTimeout)
        } throws: {
            "\($0)".contains("run the same command again to resume")
        }
        // config.json (1 KiB) is shorter than the cut and arrived whole; the weights were cut at 1 000 000 bytes.
        let weightsPartial = store.hubFolder(entry).appendingPathComponent("model.safetensors.partial")
        let kept = try #require(
            try FileManager.default.attributesOfItem(atPath: weightsPartial.path)[.size] as? NSNumber)
        #expect(kept.intValue > 0 && kept.intValue < size, "kept \(kept) of \(size) bytes")
        // Second run: the rest arrives through a Range request, and the whole file checks out.
        _ = try await store.installHubModel(entry, endpoint: hub.stub.url, idleTimeout: Self.idleTimeout)
        #expect(hub.ranges.contains("bytes=\(kept.intValue)-"), "\(hub.ranges)")
        let installed = try Data(contentsOf: store.hubFolder(entry).appendingPathComponent("model.safetensors"))
        #expect(installed == files["model.safetensors"]!)
        #expect(!FileManager.default.fileExists(atPath: weightsPartial.path))
    }

    @Test("a file whose SHA-256 differs from the registry's is refused and deleted; nothing is installed")
    func refusesCorruptFile() async throws {
        let setup = try Setup()
        defer { withExtendedLifetime(setup) {} }  // the hub and the store live to the end
        let (hub, store) = (setup.hub, setup.store)
        let entry = Self.entry(setup.files, corrupt: true)
        await #expect {
            try await store.installHubModel(entry, endpoint: hub.stub.url, idleTimeout: Self.idleTimeout)
        } throws: {
            "\($0)".contains("does not match the registry's") && "\($0)".contains("deleted")
        }
        let folder = store.hubFolder(entry)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))
        #expect(
            !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors.partial").path))
        #expect(store.hubModelLocation(entry) == nil)
    }

    @Test("a server that sends more than the registry's size is cut off, and nothing is installed")
    func oversizedFile() async throws {
        let setup = try Setup()
        defer { withExtendedLifetime(setup) {} }  // the hub and the store live to the end
        let small = HubModel(
            name: "tiny-clip", repo: "satseek/tiny-clip", files: [.init(path: "model.safetensors", size: 100_000)],
            architecture: "ViT-tiny", licence: "test")
        await #expect {
            try await setup.store.installHubModel(small, endpoint: setup.hub.stub.url, idleTimeout: Self.idleTimeout)
        } throws: {
            "\($0)".contains("more than the 100000 bytes expected")
        }
        #expect(setup.store.hubModelLocation(small) == nil)
    }

    @Test("no network: the message names the endpoint and the ways round it; a missing file is a 404")
    func offline() async throws {
        let setup = try Setup(files: [:])
        defer { withExtendedLifetime(setup) {} }  // the hub and the store live to the end
        let (hub, store) = (setup.hub, setup.store)
        let files = try Self.tinyFiles()
        // A port nobody listens on (the stub is stopped before use).
        let closed = try ThreadedHTTPStub { _ in .init(status: 200, body: Data()) }
        let url = closed.url
        closed.stop()
        try await Task.sleep(nanoseconds: 300_000_000)
        await #expect {
            try await store.installHubModel(Self.entry(files), endpoint: url, idleTimeout: Self.idleTimeout)
        } throws: {
            let text = "\($0)"
            return text.contains("cannot reach \(url.absoluteString)") && text.contains("SATSEEK_HF_ENDPOINT")
                && text.contains("--model clip:PATH")
        }
        await #expect {
            try await store.installHubModel(Self.entry(files), endpoint: hub.stub.url, idleTimeout: Self.idleTimeout)
        } throws: {
            "\($0)".contains("HTTP 404")
        }
    }

    @Test("the registry lists every CLIP-family entry the issue names, with repository, architecture and licence")
    func registry() {
        let names = Set(ModelStore.hubModels.map(\.name))
        for name in [
            "remoteclip-vit-b-32", "remoteclip-vit-l-14", "remoteclip-rn50", "georsclip-vit-b-32",
            "openai-clip-vit-b-32", "openai-clip-vit-l-14"
        ] {
            #expect(names.contains(name))
        }
        #expect(ModelStore.hubModels.allSatisfy { !$0.repo.isEmpty && !$0.files.isEmpty && !$0.licence.isEmpty })
        #expect(ModelStore.installableNames.contains("remoteclip-vit-b-32"))
        #expect(
            HubDownloader(endpoint: URL(string: "https://hf-mirror.example")!)
                .url(repo: "chendelong/RemoteCLIP", revision: "main", path: "RemoteCLIP-ViT-B-32.pt").absoluteString
                == "https://hf-mirror.example/chendelong/RemoteCLIP/resolve/main/RemoteCLIP-ViT-B-32.pt")
    }
}
