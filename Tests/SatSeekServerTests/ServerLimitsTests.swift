import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing
@testable import SatSeekServer

/// What the server does to slow, abandoned, short and too many clients: idle and half-sent connections are
/// closed, a trickling upload is answered 408, a short one 400 (not 413), and a full work queue 503 with
/// `Retry-After` instead of a stall. Each test runs its own server (tight limits) over the shared fixture's index.
@Suite("Server limits: timeouts, short uploads, bounded work")
struct ServerLimitsTests {
    /// Starts a server on a free port with `configure` applied to a copy of the fixture's configuration.
    private func startServer(
        _ configure: (inout ServerConfiguration) -> Void
    ) async throws -> (SatSeekServer, Int, Task<Void, any Error>) {
        let fixture = try await ServerFixture.shared()
        var configuration = ServerConfiguration(port: 0, maxUploadBytes: 8 << 20)
        configure(&configuration)
        let server = try SatSeekServer(session: fixture.session, configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task.detached { try await server.run { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return (server, port, task)
    }

    /// A `satseek serve` child over the fixture's index. The timeout and short-upload tests use a server process of
    /// its own: in this process, other suites' synchronous work can hold the cooperative threads the server's
    /// handlers finish on for minutes, and Hummingbird does not close a connection whose response is unfinished.
    private func serveChild(_ arguments: [String]) async throws -> ServeProcess {
        let fixture = try await ServerFixture.shared()
        let binary = try #require(satseekExecutable())
        return try await ServeProcess.start(binary: binary, db: fixture.db, arguments: arguments)
    }

    private func idleServer() async throws -> ServeProcess { try await serveChild(["--idle-timeout", "1"]) }

    @Test("a request head that never ends is closed after the idle timeout")
    func slowHeadIsClosed() async throws {
        let server = try await idleServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.send("GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        let started = Date()
        // Generous for a loaded machine; without the timeout such a request was held for 90 s and more.
        let (bytes, closed) = await client.readUntilClosed(timeout: 60)
        #expect(closed, "the server kept a half-sent request open for 60 s (got \(bytes.count) bytes)")
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test("an idle keep-alive connection is closed after the idle timeout")
    func idleKeepAliveIsClosed() async throws {
        let server = try await idleServer()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.send("GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        // Generous: on a loaded machine the answer itself can take a while; the connection closes 1 s after it.
        let (bytes, closed) = await client.readUntilClosed(timeout: 120)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(closed, "an idle keep-alive connection stayed open for 120 s")
    }

    @Test("an upload that trickles in slower than the upload timeout is answered 408")
    func slowUploadTimesOut() async throws {
        let server = try await serveChild(["--upload-timeout", "1", "--idle-timeout", "120"])
        defer { server.stop() }
        let text = try await shortUploadResponse(port: server.port, closeWriting: false)
        #expect(text.hasPrefix("HTTP/1.1 408"), "\(text.prefix(300))")
        #expect(text.contains("did not arrive within 1 s"), "\(text.prefix(300))")
    }

    @Test("an upload shorter than its Content-Length is a 400 that says so, not 413")
    func shortUpload() async throws {
        let server = try await serveChild([])
        defer { server.stop() }
        let text = try await shortUploadResponse(port: server.port, closeWriting: true)
        #expect(text.hasPrefix("HTTP/1.1 400"), "\(text.prefix(300))")
        #expect(text.contains("could not be read in full"), "\(text.prefix(300))")
    }

    @Test("a full embedding queue answers 503 with Retry-After at once, and serves again when it drains")
    func busyQueue() async throws {
        let (server, port, task) = try await startServer {
            $0.embeddingWorkers = 1; $0.embeddingQueue = 0
        }
        defer { task.cancel() }
        let upload = try Data(
            contentsOf: sharedData.appendingPathComponent("datasets/aid-mini/Airport")
                .appendingPathComponent(
                    try FileManager.default.contentsOfDirectory(
                        atPath: sharedData.appendingPathComponent("datasets/aid-mini/Airport").path
                    ).sorted()[0]))
        // Occupy the only worker until the test lets go.
        let release = DispatchSemaphore(value: 0)
        let blocker = Task { await server.embedding.run { release.wait() } }
        while server.embedding.load == 0 { try await Task.sleep(nanoseconds: 5_000_000) }

        // The worker is held until after the answer is read, so a 503 here was not waiting for it.
        let client = try RawClient(port: port)
        try client.send("POST /api/search/image HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(upload.count)\r\n\r\n")
        try client.send(upload)
        let (bytes, _) = await client.readUntilClosed(timeout: 90, stopAfterResponse: true)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503"), "\(text.prefix(300))")
        #expect(text.lowercased().contains("retry-after: 1"), "\(text.prefix(300))")
        // Other routes are not held up by the full embedding queue.
        let info = try await http("http://127.0.0.1:\(port)/api/info")
        #expect(info.status == 200)

        release.signal()
        _ = await blocker.value
        let answer = try await http("http://127.0.0.1:\(port)/api/search/image?k=3", method: "POST", body: upload)
        #expect(answer.status == 200, "\(answer.text.prefix(300))")
    }

    @Test("serve refuses a port outside 0…65535 instead of listening somewhere else")
    func portOutOfRange() async throws {
        guard let binary = satseekExecutable() else { return }
        let (status, output) = try await runProcess(
            binary.path, ["serve", "--db", "/nonexistent.satseek", "--port", "99999"])
        #expect(status != 0)
        #expect(output.contains("--port must be in 0…65535"), "\(output)")
    }

    @Test("the work queue admits workers + waiting jobs and refuses the next")
    func workQueueBound() async throws {
        let queue = WorkQueue(label: "test", workers: 1, waiting: 1)
        let release = DispatchSemaphore(value: 0)
        let first = Task {
            await queue.run {
                release.wait(); return 1
            }
        }
        let second = Task { await queue.run { 2 } }
        while queue.load < 2 { try await Task.sleep(nanoseconds: 5_000_000) }
        let third = await queue.run { 3 }
        #expect(throws: ServerBusy.self) { try third.get() }
        release.signal()
        #expect(try await first.value.get() == 1)
        #expect(try await second.value.get() == 2)
        #expect(try await queue.run { 4 }.get() == 4)
        #expect(queue.load == 0)
    }
}

/// Sends an image upload whose head promises 1000 bytes followed by ten of them (then closes the writing side when
/// `closeWriting`), and returns what the server answers.
func shortUploadResponse(port: Int, closeWriting: Bool) async throws -> String {
    let client = try RawClient(port: port)
    try client.send("POST /api/search/image HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789")
    if closeWriting { client.finishSending() }
    let (bytes, _) = await client.readUntilClosed(timeout: 90, stopAfterResponse: true)
    return String(decoding: bytes, as: UTF8.self)
}

/// A bare TCP client on 127.0.0.1, for what URLSession will not do: half-sent heads, short bodies, idling.
final class RawClient {
    private let socketDescriptor: Int32

    init(port: Int) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else { close(socketDescriptor); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(socketDescriptor) }

    func send(_ text: String) throws { try send(Data(text.utf8)) }

    func send(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(
                    socketDescriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { throw POSIXError(.EPIPE) }
                offset += sent
            }
        }
    }

    /// Half-closes the connection: the server sees the end of the request stream.
    func finishSending() { shutdown(socketDescriptor, Int32(SHUT_WR)) }

    /// Reads until the server closes (or, with `stopAfterResponse`, until a whole response has arrived) or
    /// `timeout` seconds pass; returns the bytes and whether the server closed the connection. Waits in `poll` on a
    /// thread of its own, so neither does it hold a thread of the small cooperative pool (the server may need it)
    /// nor does a busy pool make it miss a close that happened in time.
    func readUntilClosed(timeout: Double, stopAfterResponse: Bool = false) async -> (Data, closed: Bool) {
        let descriptor = socketDescriptor
        let result = try? await onOwnThread { () -> (Data, Bool) in
            var received = Data()
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while Date() < deadline {
                var pollFD = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&pollFD, 1, 100) > 0 else { continue }
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return (received, true) }
                received.append(contentsOf: buffer[0..<count])
                if stopAfterResponse, Self.isCompleteResponse(received) { return (received, false) }
            }
            return (received, false)
        }
        return result ?? (Data(), false)
    }

    /// A head and as many body bytes as its Content-Length says.
    private static func isCompleteResponse(_ data: Data) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<headEnd.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else {
            return false
        }
        return text.utf8.count - text[..<headEnd.upperBound].utf8.count >= length
    }
}
