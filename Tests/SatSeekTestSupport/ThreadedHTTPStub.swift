import Foundation
import SatSeekTensor
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers every request from a thread of its own, for stubs of outside
/// services (a geocoder, say). Unlike a Hummingbird stub in the test process, it answers at once however long the
/// test process's few cooperative threads are held by other suites, so a client's timeout measures the client.
/// One request per connection (`Connection: close`); the handler gets the request target (`/reverse?lat=…`) and
/// headers.
public final class ThreadedHTTPStub: @unchecked Sendable {
    public struct Request: Sendable {
        public let target: String
        /// Header fields, names in lower case.
        public let headers: [String: String]
    }

    public struct Reply: Sendable {
        public var status: Int
        public var contentType: String
        public var body: Data
        public var headers: [String: String]
        /// Sends only this many body bytes (after a head that promises them all), then closes: a dropped transfer.
        public var truncateAfter: Int?
        public init(
            status: Int, contentType: String = "application/json", body: Data, headers: [String: String] = [:],
            truncateAfter: Int? = nil
        ) {
            (self.status, self.contentType, self.body) = (status, contentType, body)
            (self.headers, self.truncateAfter) = (headers, truncateAfter)
        }
    }

    public let port: Int
    public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
    private let listener: Int32
    private let stopped = Mutex(false)
    private let requestTargets = Mutex<[String]>([])

    /// Request targets seen so far, in order.
    public var targets: [String] { requestTargets.withLock { $0 } }

    public init(_ handler: @escaping @Sendable (Request) -> Reply) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 16) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let descriptor = listener
        do {
            try startDetachedThread(name: "satseek-stub") { [self] in
                while !stopped.withLock({ $0 }) {
                    var pollFD = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    guard poll(&pollFD, 1, 100) > 0 else { continue }
                    let connection = accept(descriptor, nil, nil)
                    guard connection >= 0 else { continue }
                    serve(connection, handler)
                    close(connection)
                }
                close(descriptor)
            }
        } catch {
            close(descriptor)  // the serving thread that would close it never started
            throw error
        }
    }

    deinit { stop() }

    /// Stops accepting; the listening socket is closed by the serving thread.
    public func stop() { stopped.withLock { $0 = true } }

    private func serve(_ connection: Int32, _ handler: (Request) -> Reply) {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !received.ends(with: "\r\n\r\n") && received.count < 65_536 {
            var pollFD = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            guard poll(&pollFD, 1, 100) > 0 else { continue }
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received += buffer[0..<count]
        }
        let lines = String(decoding: received, as: UTF8.self).split(separator: "\r\n")
        let parts = (lines.first ?? "").split(separator: " ")
        let target = parts.count >= 2 ? String(parts[1]) : "/"
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        requestTargets.withLock { $0.append(target) }
        let reply = handler(Request(target: target, headers: headers))
        let reason =
            [200: "OK", 206: "Partial Content", 404: "Not Found", 416: "Range Not Satisfiable"][reply.status]
            ?? "Status"
        let extra = reply.headers.map { "\($0.key): \($0.value)\r\n" }.sorted().joined()
        var response = Data(
            ("HTTP/1.1 \(reply.status) \(reason)\r\nContent-Type: \(reply.contentType)\r\n"
                + "Content-Length: \(reply.body.count)\r\n\(extra)Connection: close\r\n\r\n").utf8)
        response.append(reply.truncateAfter.map { reply.body.prefix($0) } ?? reply.body)
        response.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(connection, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { return }
                offset += sent
            }
        }
    }
}

extension [UInt8] {
    fileprivate func ends(with text: String) -> Bool {
        let suffix = Array(text.utf8)
        return count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
