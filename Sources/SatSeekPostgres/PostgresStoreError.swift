import Foundation
import PostgresNIO

/// Errors of the PostgreSQL store; every message names the URL (without password) or table and the reason.
public enum PostgresStoreError: Error, CustomStringConvertible, Equatable {
    /// The URL is malformed or incomplete.
    case invalidURL(url: String, reason: String)
    /// The URL names a host other than loopback.
    case notLoopback(url: String, host: String)
    /// No connection could be made.
    case cannotConnect(url: String, reason: String)
    /// The store's tables hold another model's embeddings (or another length).
    case modelMismatch(
        url: String, table: String, storedModel: String, storedDimensions: Int,
        requestedModel: String, requestedDimensions: Int)
    /// The store's tables were created with another binary-code length.
    case codeLengthMismatch(url: String, table: String, stored: Int?, requested: Int)
    /// An item or query does not fit the store (wrong length, non-finite values, bad code).
    case invalidInput(table: String, reason: String)
    /// A statement failed on the server.
    case queryFailed(url: String, table: String, action: String, reason: String)
    /// The option values are out of range.
    case invalidOptions(String)

    public var description: String {
        switch self {
        case let .invalidURL(url, reason):
            return "\(url): not a usable PostgreSQL URL: \(reason)"
        case let .notLoopback(url, host):
            return "\(url): refusing host '\(host)': SatSeek only connects to a PostgreSQL server on this machine's "
                + "loopback interface (127.0.0.1, ::1 or localhost)"
        case let .cannotConnect(url, reason):
            return "\(url): cannot connect: \(reason)"
        case let .modelMismatch(url, table, storedModel, storedDimensions, requestedModel, requestedDimensions):
            return
                "\(url): table \(table) holds embeddings of model '\(storedModel)' (\(storedDimensions) dimensions); "
                + "refusing model '\(requestedModel)' (\(requestedDimensions) dimensions): embeddings of different models "
                + "are not comparable; use another schema (…?schema=NAME) or drop that one"
        case let .codeLengthMismatch(url, table, stored, requested):
            let had = stored.map { "\($0)-bit codes" } ?? "no code column"
            return "\(url): table \(table) has \(had); refusing \(requested)-bit codes"
        case let .invalidInput(table, reason):
            return "\(table): \(reason)"
        case let .queryFailed(url, table, action, reason):
            return "\(url): \(action) on \(table) failed: \(reason)"
        case let .invalidOptions(reason):
            return "invalid PostgreSQL store options: \(reason)"
        }
    }

    /// A short, readable reason for a PostgresNIO error (its own description hides the server message).
    /// `true` for a statement that broke a unique index (SQLSTATE 23505), e.g. two writers inserting one path.
    var isUniqueViolation: Bool {
        if case let .queryFailed(_, _, _, reason) = self { return reason.hasSuffix("[SQLSTATE 23505]") }
        return false
    }

    static func reason(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo, let message = info[.message] {
            var text = message
            if let detail = info[.detail] { text += " (\(detail))" }
            if let hint = info[.hint] { text += "; hint: \(hint)" }
            if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
            return text
        }
        if let underlying = psql.underlying { return "\(underlying)" }
        return "\(psql.code)"
    }
}
