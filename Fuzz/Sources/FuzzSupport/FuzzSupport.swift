import CFuzzerDriver
import Foundation

// Helpers of the fuzz targets. Each target defines `LLVMFuzzerTestOneInput` (one input: must never crash — a
// trap, an address-sanitizer report or a timeout is a finding, saved by libFuzzer as `crash-…`/`timeout-…`),
// `LLVMFuzzerInitialize`, which writes the seed corpus instead when `SATSEEK_FUZZ_SEEDS=DIR` is set, and
// `<target>_main`, the entry point SwiftPM links executables with, which hands over to libFuzzer's driver.

/// The folder to write seeds into, when asked (`SATSEEK_FUZZ_SEEDS`).
public var seedFolder: String? { ProcessInfo.processInfo.environment["SATSEEK_FUZZ_SEEDS"] }

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
public func runFuzzerDriver(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ body: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, body)
}
