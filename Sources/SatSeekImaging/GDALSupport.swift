import CGDAL
#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide GDAL set-up and per-call error capture.
///
/// GDAL keeps its error handler stack and its last-error state per thread, so every decode pushes
/// its own handler (which records messages instead of printing them to stderr) and pops it when done.
/// That makes concurrent decodes of different files on different threads independent.
public enum GDALRuntime {
    /// GDAL's raster block cache, unless the environment sets `GDAL_CACHEMAX`. GDAL's own default is 5 % of the
    /// machine's memory (1.2 GiB on a 24 GiB machine), which reading a 20 000 px scene fills; tiling reads every
    /// block once, so a small cache costs nothing and keeps the process's memory flat.
    public static let blockCacheBytes: Int64 = 256 << 20

    /// Registers all GDAL drivers exactly once (Swift initialises static `let`s lazily and thread-safely).
    private static let registered: Bool = {
        GDALAllRegister()
        if getenv("GDAL_CACHEMAX") == nil { GDALSetCacheMax64(GIntBig(blockCacheBytes)) }
        return true
    }()

    /// Makes sure the drivers are registered (and the block cache bounded) before the first GDAL call.
    public static func ensureRegistered() {
        _ = registered
    }
}

/// One message GDAL reported through `CPLError`.
struct GDALMessage {
    /// `CE_Warning`, `CE_Failure` or `CE_Fatal` (debug messages are ignored).
    let level: CPLErr
    /// GDAL's error number (`CPLE_*`).
    let number: Int32
    /// The message text.
    let text: String

    /// Whether the message is an error rather than a warning.
    var isFailure: Bool { level == CE_Failure || level == CE_Fatal }
}

/// Messages GDAL reported on the current thread while a capture was active.
final class GDALMessageLog {
    private(set) var messages: [GDALMessage] = []

    func append(_ message: GDALMessage) { messages.append(message) }

    /// Messages reported after position `start` (see `messages.count`).
    func messages(since start: Int) -> ArraySlice<GDALMessage> { messages[start...] }
}

/// The C error handler: appends to the `GDALMessageLog` passed as the handler's user data.
private let recordingHandler: CPLErrorHandler = { level, number, text in
    guard level != CE_Debug, level != CE_None, let user = CPLGetErrorHandlerUserData() else { return }
    let log = Unmanaged<GDALMessageLog>.fromOpaque(user).takeUnretainedValue()
    log.append(GDALMessage(level: level, number: number, text: text.map { String(cString: $0) } ?? ""))
}

/// Runs `body` with GDAL's messages on this thread recorded in a log instead of printed.
///
/// `body` must stay on the calling thread (it is synchronous), since GDAL's handler stack is per thread.
func withGDALMessageCapture<T>(_ body: (GDALMessageLog) throws -> T) rethrows -> T {
    GDALRuntime.ensureRegistered()
    let log = GDALMessageLog()
    return try withExtendedLifetime(log) {
        CPLErrorReset()
        CPLPushErrorHandlerEx(recordingHandler, Unmanaged.passUnretained(log).toOpaque())
        defer {
            CPLPopErrorHandler()
            CPLErrorReset()
        }
        return try body(log)
    }
}

/// Runs `body` with GDAL configuration options set for the current thread only, restoring the
/// previous thread-local values afterwards.
func withThreadLocalGDALConfig<T>(_ options: [(String, String)], _ body: () throws -> T) rethrows -> T {
    let previous: [(String, String?)] = options.map { key, _ in
        (key, CPLGetThreadLocalConfigOption(key, nil).map { String(cString: $0) })
    }
    for (key, value) in options { CPLSetThreadLocalConfigOption(key, value) }
    defer {
        for (key, value) in previous { CPLSetThreadLocalConfigOption(key, value) }
    }
    return try body()
}
