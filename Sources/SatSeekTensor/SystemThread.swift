#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A thread could not be started (the system refused `pthread_create`).
public struct ThreadStartError: Error, CustomStringConvertible {
    public let name: String
    public let code: Int32
    public var description: String { "cannot start thread '\(name)': pthread_create returned \(code)" }
}

/// Starts a detached POSIX thread named `name` that runs `body` and then ends.
///
/// Foundation's `Thread` is not used for threads that end: on Linux it keeps the thread's `pthread_t` after the
/// thread is gone and can touch it again (swift-corelibs-foundation issue 5240, "Thread pthread_t lifetime issues
/// can cause memory corruption"). SatSeek's test process, which starts and ends hundreds of threads, has aborted
/// now and then with a freed heap chunk overwritten at a thread's exit by code that is not SatSeek's (README,
/// "Architecture"); Foundation's thread bookkeeping is one suspect, and here nothing outlives the thread but `body`.
/// - Parameters:
///   - name: Shown by debuggers and crash reports (the first 15 bytes).
///   - stackSize: Bytes of stack, or the system's default.
/// - Throws: ``ThreadStartError`` when the system cannot start another thread.
public func startDetachedThread(
    name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void
) throws {
    let context = Unmanaged.passRetained(ThreadContext(name: name, body: body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN))) }
    #if canImport(Glibc)
        var thread = pthread_t()
    #else
        var thread: pthread_t?
    #endif
    let code = pthread_create(&thread, &attributes, runThreadContext, context)
    guard code == 0 else {
        Unmanaged<ThreadContext>.fromOpaque(context).release()
        throw ThreadStartError(name: name, code: code)
    }
}

/// What a started thread runs, handed over as one retained object.
private final class ThreadContext {
    let name: String
    let body: () -> Void
    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }
}

private func runThreadContext(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let context = Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue()
    #if os(Linux)
        // What `pthread_setname_np` does for the calling thread (Swift's Glibc module does not export it).
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        if descriptor >= 0 {
            let bytes = Array(context.name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
    #endif
    context.body()
    return nil
}
