import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// Fetches one file of a Hugging Face hub repository (`ENDPOINT/REPO/resolve/REVISION/PATH`, redirects followed)
/// into place: the bytes go to `<destination>.partial`, a later run resumes it with an HTTP `Range` request, the
/// finished file's size and SHA-256 are checked against the registry (when it records them) and it is renamed
/// into place. A file that fails its check is deleted; an interrupted one is kept for the next run.
public struct HubDownloader: Sendable {
    public let endpoint: URL
    /// Seconds without a byte before the transfer counts as stalled (and is kept to resume).
    public var idleTimeout: Int64 = 60
    /// The most bytes accepted for a file whose size neither the registry nor the server states (the largest CLIP
    /// checkpoints are a few GiB).
    public var maximumBytes: Int64 = 32 << 30

    public init(endpoint: URL) {
        self.endpoint = endpoint
    }

    public func url(repo: String, revision: String, path: String) -> URL {
        endpoint.appendingPathComponent(repo).appendingPathComponent("resolve").appendingPathComponent(revision)
            .appendingPathComponent(path)
    }

    /// Downloads (or resumes) `file` to `destination`.
    /// - Returns: The file's SHA-256 (lower-case hex) and size.
    public func fetch(
        repo: String, revision: String, file: HubModel.File, to destination: URL,
        progress: @Sendable (_ done: Int64, _ total: Int64?) -> Void = { _, _ in }
    ) async throws -> (sha256: String, bytes: Int64) {
        let source = url(repo: repo, revision: revision, path: file.path)
        let name = "\(repo)/\(file.path)"
        func failure(_ reason: String) -> ModelStoreError { .installFailed(name, reason: reason) }
        guard ["http", "https"].contains(source.scheme?.lowercased() ?? "") else {
            throw failure("the hub endpoint \(endpoint.absoluteString) is not an http(s) URL (SATSEEK_HF_ENDPOINT)")
        }
        let partial = URL(fileURLWithPath: destination.path + ".partial")
        let fm = FileManager.default
        var offset = (try? fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.int64Value ?? 0
        if let size = file.size, offset > size {
            try? fm.removeItem(at: partial)
            offset = 0
        }
        if !fm.fileExists(atPath: partial.path) { fm.createFile(atPath: partial.path, contents: nil) }

        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(15), read: .seconds(idleTimeout))
        configuration.redirectConfiguration = .follow(max: 10, allowCycles: false)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await transfer(
                source, name: name, into: partial, from: offset, expectedSize: file.size, client: client,
                progress: progress)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
        let (digest, bytes) = try Self.sha256(of: partial)
        if let size = file.size, bytes != size {
            try? fm.removeItem(at: partial)
            throw failure("got \(bytes) bytes, the registry expects \(size); the download was deleted")
        }
        if let expected = file.sha256, expected.lowercased() != digest {
            try? fm.removeItem(at: partial)
            throw failure("SHA-256 \(digest) does not match the registry's \(expected); the download was deleted")
        }
        try? fm.removeItem(at: destination)
        try fm.moveItem(at: partial, to: destination)
        return (digest, bytes)
    }

    /// Appends the response body to `partial` (from `offset`, or from 0 when the server ignores the range).
    private func transfer(
        _ source: URL, name: String, into partial: URL, from offset: Int64, expectedSize: Int64?, client: HTTPClient,
        progress: @Sendable (Int64, Int64?) -> Void
    ) async throws {
        func failure(_ reason: String) -> ModelStoreError { .installFailed(name, reason: reason) }
        var request = HTTPClientRequest(url: source.absoluteString)
        request.headers.add(name: "User-Agent", value: "satseek")
        if offset > 0 { request.headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(24))
        } catch {
            throw failure(
                "cannot reach \(endpoint.absoluteString) (\(error)); without a network, set SATSEEK_HF_ENDPOINT to a "
                    + "mirror, or fetch \(source.absoluteString) by other means and use --model clip:PATH")
        }
        let handle = try FileHandle(forWritingTo: partial)
        defer { try? handle.close() }
        var done: Int64
        let length = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        let total: Int64?
        switch response.status.code {
        case 206:
            let range = response.headers.first(name: "Content-Range") ?? ""
            guard range.hasPrefix("bytes \(offset)-") else {
                throw failure("asked for bytes from \(offset), the server sent \(range.isEmpty ? "no range" : range)")
            }
            done = offset
            total = range.split(separator: "/").last.flatMap { Int64($0) } ?? length.map { offset + $0 }
            try handle.seekToEnd()
        case 200:
            done = 0
            total = length
            try handle.truncate(atOffset: 0)
        case 416 where offset > 0:
            return  // the partial file is already whole; the checks decide
        case 401, 403, 404:
            throw failure("\(source.absoluteString) answered HTTP \(response.status.code) (no such file, or gated)")
        default:
            throw failure("\(source.absoluteString) answered HTTP \(response.status.code)")
        }
        progress(done, total)
        // A server may not fill the disk: never more than the registry's size (or the announced one), and never more
        // than `maximumBytes` when neither is known.
        let limit = expectedSize ?? total ?? maximumBytes
        do {
            for try await buffer in response.body {
                done += Int64(buffer.readableBytes)
                if done > limit { throw failure("the server sent more than the \(limit) bytes expected") }
                try handle.write(contentsOf: Data(buffer.readableBytesView))
                progress(done, total)
            }
        } catch let error as ModelStoreError {
            throw error
        } catch {
            throw failure("the download stopped at \(done) bytes (\(error)); run the same command again to resume")
        }
        if let total, done < total {
            throw failure("the download stopped at \(done) of \(total) bytes; run the same command again to resume")
        }
    }

    /// SHA-256 and size of a file, read in 1 MiB pieces.
    static func sha256(of url: URL) throws -> (String, Int64) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            bytes += Int64(chunk.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), bytes)
    }
}
