import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Logging
import Testing
import WSClient

/// Headless Chromium driven over the Chrome DevTools Protocol: the test clicks the page's real buttons
/// (`Runtime.evaluate`), lets downloads land in a folder and takes screenshots.
final class HeadlessChromium: @unchecked Sendable {
    let child: SpawnedProcess
    /// The browser's DevTools WebSocket URL (printed by Chromium on start-up).
    let browserSocket: String
    let downloads: URL
    private let profile: URL

    /// Starts Chromium on `url` with a fresh profile; downloads go to `downloads`.
    init(executable: String, url: String, downloads: URL) throws {
        profile = try temporaryFolder("chromium-cdp")
        self.downloads = downloads
        child = try SpawnedProcess(
            executable,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--window-size=1400,900", "--remote-debugging-port=0",
                "--remote-allow-origins=*", url
            ])
        guard let found = child.waitForMatch(#"ws://127\.0\.0\.1:\d+/devtools/browser/[0-9a-fA-F-]+"#, timeout: 60)
        else {
            let text = child.stderr
            child.stop()
            throw CocoaError(
                .executableLoad, userInfo: [NSLocalizedDescriptionKey: "chromium did not start: \(text.suffix(800))"])
        }
        browserSocket = found
    }

    /// Starts Chromium on a thread of its own (start-up blocks until the DevTools URL is printed).
    static func start(executable: String, url: String, downloads: URL) async throws -> HeadlessChromium {
        try await onOwnThread { try HeadlessChromium(executable: executable, url: url, downloads: downloads) }
    }

    func stop() {
        child.stop()
        try? FileManager.default.removeItem(at: profile)
    }

    /// Connects to the browser, attaches to its page (flattened session) and runs `body` with that session;
    /// browser-level commands go through ``DevToolsSession/browserCall(_:_:)``.
    func withPage(_ body: @escaping @Sendable (DevToolsSession) async throws -> Void) async throws {
        var logger = Logger(label: "satseek.tests.devtools")
        logger.logLevel = .warning
        // Screenshots arrive as one large frame.
        let configuration = WebSocketClientConfiguration(maxFrameSize: 64 << 20)
        _ = try await WebSocketClient.connect(url: browserSocket, configuration: configuration, logger: logger) {
            inbound, outbound, _ in
            let session = DevToolsSession(
                outbound: outbound, messages: inbound.messages(maxSize: 64 << 20).makeAsyncIterator())
            let targets = try await session.browserCall("Target.getTargets")["targetInfos"] as? [[String: Any]] ?? []
            let page = try #require(targets.first { $0["type"] as? String == "page" }?["targetId"] as? String)
            let attached = try await session.browserCall("Target.attachToTarget", ["targetId": page, "flatten": true])
            session.sessionID = try #require(attached["sessionId"] as? String)
            try await body(session)
        }
    }
}

/// One DevTools connection: numbered commands, answers matched by id (events skipped).
final class DevToolsSession: @unchecked Sendable {
    private let outbound: WebSocketOutboundWriter
    private var messages: WebSocketInboundMessageStream.AsyncIterator
    private var nextID = 0
    /// The attached page's session; commands without it go to the browser.
    var sessionID: String?

    init(outbound: WebSocketOutboundWriter, messages: WebSocketInboundMessageStream.AsyncIterator) {
        self.outbound = outbound
        self.messages = messages
    }

    /// Sends a command and returns its `result`; a protocol error throws.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:]) async throws -> [String: Any] {
        try await send(method, params, session: sessionID)
    }

    /// A browser-level command (Target.*, Browser.*).
    @discardableResult
    func browserCall(_ method: String, _ params: [String: Any] = [:]) async throws -> [String: Any] {
        try await send(method, params, session: nil)
    }

    private func send(_ method: String, _ params: [String: Any], session: String?) async throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var command: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { command["sessionId"] = session }
        let data = try JSONSerialization.data(withJSONObject: command)
        try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
        while let message = try await messages.next() {
            guard case .text(let text) = message,
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                object["id"] as? Int == id
            else { continue }
            if let error = object["error"] as? [String: Any] {
                throw CocoaError(.coderInvalidValue, userInfo: [NSLocalizedDescriptionKey: "\(method): \(error)"])
            }
            return object["result"] as? [String: Any] ?? [:]
        }
        throw CocoaError(
            .coderReadCorrupt, userInfo: [NSLocalizedDescriptionKey: "DevTools connection closed during \(method)"])
    }

    /// Evaluates JavaScript in the page (promises awaited) and returns its JSON value.
    func evaluate(_ expression: String) async throws -> Any? {
        let result = try await call(
            "Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true])
        if let exception = result["exceptionDetails"] {
            throw CocoaError(.coderInvalidValue, userInfo: [NSLocalizedDescriptionKey: "page threw: \(exception)"])
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `condition` (a JavaScript boolean expression) until it holds or `seconds` pass.
    func waitUntil(_ condition: String, seconds: Double = 60) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            // The page may still be loading (no body yet): a throwing condition counts as not yet.
            if try await evaluate("(() => { try { return !!(\(condition)); } catch (e) { return false; } })()") as? Bool
                == true
            {
                return true
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return false
    }
}
