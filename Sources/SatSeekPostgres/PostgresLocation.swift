import Foundation

/// A parsed `postgres://user[:password]@host:port/database[?schema=NAME]` URL that names a server on
/// this machine's loopback interface.
///
/// SatSeek only ever talks to a PostgreSQL server on loopback (`127.0.0.0/8`, `::1` or `localhost`):
/// the store ships embeddings and file paths in the clear, so a URL naming any other host is refused
/// with ``PostgresStoreError/notLoopback(url:host:)`` before anything is sent.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// Host as written in the URL (`127.0.0.1`, `::1` or `localhost`).
    public let host: String
    /// TCP port (5432 when the URL has none).
    public let port: Int
    /// User name to log in as.
    public let user: String
    /// Password, if the URL carries one (never printed).
    public let password: String?
    /// Database name.
    public let database: String
    /// PostgreSQL schema holding the store's tables (`?schema=NAME`), `nil` for the default.
    public let schema: String?

    /// The URL without its password, safe to print in messages.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let query = schema.map { "?schema=\($0)" } ?? ""
        return "postgres://\(user)@\(hostPart):\(port)/\(database)\(query)"
    }

    /// Parses and vets `url`.
    ///
    /// - Throws: ``PostgresStoreError/invalidURL(url:reason:)`` for a malformed URL or another scheme;
    ///   ``PostgresStoreError/notLoopback(url:host:)`` for a host that is not loopback.
    public init(url: String) throws {
        let redacted = Self.redact(url)
        guard let components = URLComponents(string: url) else {
            throw PostgresStoreError.invalidURL(url: redacted, reason: "it is not a URL")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresStoreError.invalidURL(
                url: redacted, reason: "the scheme must be postgres:// (like postgres://user@127.0.0.1:5432/db)")
        }
        guard var rawHost = components.host, !rawHost.isEmpty else {
            throw PostgresStoreError.invalidURL(url: redacted, reason: "it names no host")
        }
        if rawHost.hasPrefix("[") && rawHost.hasSuffix("]") { rawHost = String(rawHost.dropFirst().dropLast()) }
        guard Self.isLoopback(rawHost) else {
            throw PostgresStoreError.notLoopback(url: redacted, host: rawHost)
        }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else {
            throw PostgresStoreError.invalidURL(
                url: redacted, reason: "it names no user (postgres://USER@host:port/db)")
        }
        let database = String(components.path.drop(while: { $0 == "/" })).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreError.invalidURL(
                url: redacted, reason: "it names no database (postgres://user@host:port/DB)")
        }
        var schema: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "schema":
                guard let value = item.value, PostgresStoreOptions.isValidIdentifier(value) else {
                    throw PostgresStoreError.invalidURL(
                        url: redacted,
                        reason: "schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, ≤ 63 characters)")
                }
                schema = value
            case "sslmode" where item.value == "disable":
                break
            default:
                throw PostgresStoreError.invalidURL(
                    url: redacted, reason: "unknown parameter '\(item.name)' (only schema=NAME)")
            }
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw PostgresStoreError.invalidURL(url: redacted, reason: "port \(port) is out of range")
        }
        self.host = rawHost
        self.port = port
        self.user = user
        self.password = components.password?.removingPercentEncoding
        self.database = database
        self.schema = schema
    }

    /// `true` for `localhost`, `::1` and IPv4 addresses in `127.0.0.0/8`.
    public static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "0:0:0:0:0:0:0:1" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && UInt8(part) != nil
        }
    }

    /// `url` with any password replaced by `***`, for error messages.
    static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@"),
            let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}
