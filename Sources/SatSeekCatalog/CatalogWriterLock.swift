import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One indexing run at a time per catalog: an exclusive `flock` on `<catalog>.lock`, held from before the
/// catalog is opened (or created) until the run has written its index files.
///
/// Two `index` runs on one catalog used to race: the second of two first runs died with "database is locked"
/// while the first switched the new file to WAL, and two runs over the same folder both embedded every file and
/// both reported all of them as added. With the lock the second run waits (or, asked not to, refuses at once),
/// then finds the first run's rows and reports what it really added. The kernel releases the lock when the
/// process ends, even on `kill -9`, so a crashed run never leaves the catalog locked.
public final class CatalogWriterLock: @unchecked Sendable {
    /// The lock file, `<catalog>.lock`.
    public let path: String
    private let descriptor: Int32

    /// Why the lock could not be taken.
    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds it and waiting was not asked for.
        case held(path: String, holder: String)
        /// The lock file cannot be created or locked.
        case unavailable(path: String, reason: String)

        public var description: String {
            switch self {
            case let .held(path, holder):
                return "another indexing run (\(holder)) is writing to this catalog (lock \(path)); "
                    + "wait for it to finish, or run again without --no-wait to queue behind it"
            case let .unavailable(path, reason):
                return "cannot lock \(path): \(reason)"
            }
        }
    }

    /// Takes the lock of the catalog at `catalogPath`. When another process holds it, `wait` decides: `true`
    /// calls `onWait` with a description of the holder and blocks until it is released; `false` throws
    /// ``Failure/held(path:holder:)``.
    public init(catalogPath: String, wait: Bool, onWait: (String) -> Void = { _ in }) throws {
        path = catalogPath + ".lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure.unavailable(path: path, reason: String(cString: strerror(errno)))
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw Failure.unavailable(path: path, reason: reason)
            }
            let holder = Self.holder(descriptor)
            guard wait else {
                close(descriptor)
                throw Failure.held(path: path, holder: holder)
            }
            onWait(holder)
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(descriptor)
                    throw Failure.unavailable(path: path, reason: reason)
                }
            }
        }
        // Record who holds it, for the message a waiting run prints.
        let note = "pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = note.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// What the holder wrote into the lock file ("pid N since …"), or "unknown process".
    private static func holder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return "unknown process" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown process" : text
    }
}
