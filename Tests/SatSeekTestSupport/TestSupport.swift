import Foundation
import Testing
import SatSeekModels
import SatSeekRandom
import SatSeekTensor

/// Shared helpers of SatSeek's test targets: where the repository and the shared data are, temporary
/// folders, model availability, and a throw-away PostgreSQL cluster.

/// The repository root (three levels above this file).
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The shared read-only data folder (`../shared` beside the repository).
public let sharedData = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

/// Whether the named model's weights are installed; records a failure when SATSEEK_REQUIRE_MODELS=1, so a
/// CI run without weights fails instead of passing silently.
public func modelAvailable(_ name: String = ModelStore.defaultModel) -> Bool {
    let store = ModelStore()
    if let entry = try? ModelStore.entry(named: name), store.checkpoint(for: entry) != nil { return true }
    if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
        Issue.record(
            "weights for \(name) are not installed in \(store.directory.path); run `satseek models install \(name)`")
    }
    return false
}

/// Whether the named model's weights are installed (no side effects; for `.enabled(if:)`).
public func modelInstalled(_ name: String) -> Bool {
    let store = ModelStore()
    guard let entry = try? ModelStore.entry(named: name) else { return false }
    return store.checkpoint(for: entry) != nil
}

/// Whether the default model's weights are installed. Tests that need them are declared
/// `.enabled(if: weightsInstalled)`, so a run without weights shows them as skipped; CI sets
/// SATSEEK_REQUIRE_MODELS=1, where `RequiredWeightsTests` fails instead.
public let weightsInstalled = modelInstalled(ModelStore.defaultModel)

/// Whether the offline gazetteer is installed (`satseek models install geonames-cities1000`); tests of place names
/// are `.enabled(if: gazetteerInstalled)` and `RequiredWeightsTests` fails without it under SATSEEK_REQUIRE_MODELS=1.
public let gazetteerInstalled = ModelStore().gazetteerFiles != nil

/// A fresh temporary folder, removed by the caller.
public func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs blocking work (a child process, a sleep, a semaphore) on a thread of its own and awaits it.
///
/// Swift Testing runs tests on the cooperative thread pool, which has one thread per core (two on a CI
/// machine). A test that blocks one of those threads for seconds starves every other test's async work — a
/// fixture server's handlers among them — so blocking test code goes through here instead.
/// The thread is a plain POSIX thread (``startDetachedThread(name:stackSize:_:)``), not Foundation's `Thread`.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        do {
            try startDetachedThread(name: "satseek-test") { continuation.resume(with: Result { try body() }) }
        } catch {
            continuation.resume(throwing: error)
        }
    }
}

/// What a child process printed and how it ended.
public struct ChildResult: Sendable {
    /// Exit status, or -1 when it was killed by a signal or could not start.
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a program to its end on a thread of its own, its output going to temporary files.
///
/// Started with `posix_spawn` and reaped with `waitpid` rather than Foundation's `Process`: under many parallel
/// tests, `Process` objects released right after `waitUntilExit` coincided with heap corruption that surfaced
/// at thread exit, and its pipes can fill up while nobody reads them. A child still running after `timeout`
/// seconds is killed (status -1).
public func runChild(_ executable: String, _ arguments: [String], timeout: Double = 600) async throws -> ChildResult {
    try await onOwnThread { try runChildBlocking(executable, arguments, timeout: timeout) }
}

private func runChildBlocking(_ executable: String, _ arguments: [String], timeout: Double) throws -> ChildResult {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-child-\(UUID().uuidString)").path
    let (outPath, errPath) = (base + ".out", base + ".err")
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    let pid = try spawnChild(executable, arguments, stdout: outPath, stderr: errPath)
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { break }
        if reaped == -1 && errno != EINTR { status = -1; break }
        if Date() > deadline { kill(pid, SIGKILL) }
        usleep(reaped == 0 ? 5_000 : 0)
    }
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    let exited = status & 0x7f == 0
    return ChildResult(status: exited ? (status >> 8) & 0xff : -1, stdout: read(outPath), stderr: read(errPath))
}

/// Starts a program with standard input from /dev/null and its output to the given files (default /dev/null);
/// the caller reaps it with `waitpid`.
public func spawnChild(
    _ executable: String, _ arguments: [String], stdout: String = "/dev/null",
    stderr: String = "/dev/null"
) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else {
        throw CocoaError(
            .executableLoad, userInfo: [NSLocalizedDescriptionKey: "cannot start \(executable): error \(spawned)"])
    }
    return pid
}

/// Copies `perClass` images of each named aid-mini class into `root/<class>/`.
public func copySample(classes: [String], perClass: Int, into root: URL) throws {
    let fm = FileManager.default
    for name in classes {
        let source = sharedData.appendingPathComponent("datasets/aid-mini/\(name)")
        let files = try fm.contentsOfDirectory(atPath: source.path).sorted().prefix(perClass)
        let target = root.appendingPathComponent(name)
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        for file in files {
            try fm.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
    }
}

/// The built `satseek` executable (built by `swift test` alongside the tests, next to the test bundle), or nil
/// with a recorded issue.
public func satseekExecutable() -> URL? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL
    ]
    .map { $0.appendingPathComponent("satseek") }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        Issue.record("satseek executable not found next to the test bundle (\(candidates.map(\.path)))")
        return nil
    }
    return binary
}

extension SplitMix64 {
    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        let u = max(Float.leastNormalMagnitude, Float.random(in: 0..<1, using: &self))
        let v = Float.random(in: 0..<1, using: &self)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

/// A static STAC catalog over the shared GeoTIFFs, written into `folder`, with the faults a real one has:
///
///     catalog.json ─ child → naip/collection.json ─ item → naip-2009 (visual: absolute href)
///                 │                               ├ item → naip-2020 (visual: relative href, via a link)
///                 │                               └ item → naip-missing (visual: a file that does not exist)
///                 ├ child → landsat/collection.json ─ item → landsat-2000 (only a `data` asset; datetime "soon")
///                 │                                  └ item → metadata-only (no raster asset)
///                 └ child → catalog.json (a loop)
///
/// Returns the root catalog's URL.
public func makeSTACCatalog(in folder: URL) throws -> URL {
    let fm = FileManager.default
    func write(_ object: [String: Any], _ path: String) throws {
        let url = folder.appendingPathComponent(path)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }
    func link(_ rel: String, _ href: String) -> [String: Any] { ["rel": rel, "href": href, "type": "application/json"] }
    func item(
        _ id: String, datetime: String, assets: [String: [String: Any]], extra: [String: Any] = [:]
    ) -> [String: Any] {
        var properties: [String: Any] = ["datetime": datetime]
        properties.merge(extra) { a, _ in a }
        return [
            "type": "Feature", "stac_version": "1.0.0", "id": id, "properties": properties, "assets": assets,
            "geometry": NSNull(), "bbox": [-99.19, 47.0, -99.12, 47.04], "links": [link("parent", "../collection.json")]
        ]
    }
    let tiff = "image/tiff; application=geotiff; profile=cloud-optimized"
    let naip2009 = sharedData.appendingPathComponent("geotiff/naip_m_4709963_se_14_1_20090818.tif").path
    let naip2020 = sharedData.appendingPathComponent("geotiff/naip_m_4709963_se_14_1_20200831.tif").path
    let landsat = sharedData.appendingPathComponent("geotiff/landsat_2000.tif").path
    try fm.createDirectory(at: folder.appendingPathComponent("naip/data"), withIntermediateDirectories: true)
    try fm.createSymbolicLink(
        atPath: folder.appendingPathComponent("naip/data/naip-2020.tif").path, withDestinationPath: naip2020)
    /// A catalog or collection document linking to `links` (`rel`, `href`).
    func container(_ type: String, _ id: String, _ links: [(String, String)], _ path: String) throws {
        try write(
            [
                "type": type, "stac_version": "1.0.0", "id": id, "description": id, "license": "proprietary",
                "links": links.map { link($0.0, $0.1) }
            ], path)
    }
    try container(
        "Catalog", "satseek-test",
        [
            ("root", "./catalog.json"), ("child", "naip/collection.json"), ("child", "./landsat/collection.json"),
            ("child", "catalog.json")
        ], "catalog.json")
    try container(
        "Collection", "naip",
        [
            ("parent", "../catalog.json"), ("item", "items/naip-2009.json"), ("item", "items/naip-2020.json"),
            ("item", "items/naip-missing.json")
        ], "naip/collection.json")
    try write(
        item(
            "naip-2009", datetime: "2009-08-18T17:25:00Z",
            assets: [
                "visual": ["href": naip2009, "type": tiff, "roles": ["visual"]],
                "thumbnail": ["href": "thumb.png", "type": "image/png", "roles": ["thumbnail"]]
            ], extra: ["platform": "naip", "eo:cloud_cover": 0, "gsd": 1.0]), "naip/items/naip-2009.json")
    try write(
        item(
            "naip-2020", datetime: "2020-08-31T16:40:00Z",
            assets: ["visual": ["href": "../data/naip-2020.tif", "type": tiff]],
            extra: ["platform": "naip", "eo:cloud_cover": 3.5]), "naip/items/naip-2020.json")
    try write(
        item("naip-missing", datetime: "2015-01-01", assets: ["visual": ["href": "../data/gone.tif", "type": tiff]]),
        "naip/items/naip-missing.json")
    try container(
        "Collection", "landsat", [("item", "landsat-2000.json"), ("item", "metadata-only.json")],
        "landsat/collection.json")
    try write(
        item("landsat-2000", datetime: "soon", assets: ["data": ["href": landsat, "type": tiff]]),
        "landsat/landsat-2000.json")
    try write(
        item(
            "metadata-only", datetime: "2000-06-01",
            assets: ["metadata": ["href": "meta.xml", "type": "application/xml"]]), "landsat/metadata-only.json")
    return folder.appendingPathComponent("catalog.json")
}

/// A long-running child (a server, a browser) started with `posix_spawn`, its standard error going to a temporary
/// file that ``waitForMatch(_:timeout:)`` reads; ``stop()`` sends SIGTERM (then SIGKILL) and reaps it with
/// `waitpid`. Foundation's `Process` is not used: see ``runChild(_:_:timeout:)``.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stderrPath: String
    private var reaped = false
    private let lock = NSLock()

    public init(_ executable: String, _ arguments: [String]) throws {
        stderrPath =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("satseek-spawned-\(UUID().uuidString).err").path
        pid = try spawnChild(executable, arguments, stderr: stderrPath)
    }

    /// What the child has written to standard error so far.
    public var stderr: String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// The first text in standard error matching the regular expression, waiting up to `timeout` seconds (blocks:
    /// call it off the cooperative pool); nil when the child exits or the time is up first.
    public func waitForMatch(_ pattern: String, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = stderr
            if let range = text.range(of: pattern, options: .regularExpression) { return String(text[range]) }
            if !isRunning { return nil }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Whether the child is still running (reaps it when it has ended).
    public var isRunning: Bool {
        lock.withLock {
            guard !reaped else { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
            return !reaped
        }
    }

    /// SIGTERM, up to `timeout` seconds for it to end, then SIGKILL; always reaped. Returns whether it ended on
    /// SIGTERM.
    @discardableResult
    public func stop(timeout: Double = 10) -> Bool {
        guard isRunning else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let graceful = !isRunning
        if !graceful {
            kill(pid, SIGKILL)
            lock.withLock {
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                reaped = true
            }
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
        return graceful
    }
}
