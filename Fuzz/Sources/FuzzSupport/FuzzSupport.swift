import CFuzzerDriver
import Foundation

// Helpers of the fuzz targets. Each target defines `LLVMFuzzerTestOneInput` (one input: it must never crash — a
// trap, an address-sanitizer report or a timeout is a finding, saved by libFuzzer as `crash-…`/`timeout-…`) and
// `<target>_main`, the entry point SwiftPM links executables with, which hands over to libFuzzer's driver; the
// targets whose seeds SatSeek writes itself also define `LLVMFuzzerInitialize` (``writeSeedsIfAsked(_:)``).

/// For `LLVMFuzzerInitialize`: with `SATSEEK_FUZZ_SEEDS=DIR` set, runs `write(DIR)` (small valid files from
/// SatSeek's own writers, the seed corpus) and exits; otherwise returns 0 and fuzzing starts.
public func writeSeedsIfAsked(_ write: (String) throws -> Void) -> Int32 {
    guard let folder = ProcessInfo.processInfo.environment["SATSEEK_FUZZ_SEEDS"] else { return 0 }
    do {
        try write(folder)
    } catch {
        print("cannot write seeds: \(error)")
        exit(1)
    }
    exit(0)
}

/// The input as `Data`.
public func fuzzData(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Data {
    guard let bytes, count > 0 else { return Data() }
    return Data(bytes: bytes, count: count)
}

/// Writes the input to this process's scratch file (readers that take a path) and returns its path.
public func fuzzFile(_ bytes: UnsafePointer<UInt8>?, _ count: Int, suffix: String) -> String {
    let path = NSTemporaryDirectory() + "satseek-fuzz-\(getpid())\(suffix)"
    _ = FileManager.default.createFile(atPath: path, contents: fuzzData(bytes, count))
    return path
}

/// Runs libFuzzer's driver on this process's arguments with `body` as the target (for the executable's entry
/// point, which SwiftPM names `<target>_main`).
public func runFuzzerDriver(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ body: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, body)
}
