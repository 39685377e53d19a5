import CFuzzerDriver
import Foundation

/// Runs libFuzzer with this process's arguments, handing every input to `body` (which must never crash: a trap,
/// an address-sanitizer report or a timeout is a finding, saved by libFuzzer as `crash-…`/`timeout-…`).
public func runFuzzer(_ body: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, body))
}

/// The input as `Data`.
public func fuzzData(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Data {
    guard let bytes, count > 0 else { return Data() }
    return Data(bytes: bytes, count: count)
}

/// Writes the input to this process's scratch file (readers that take a path) and returns its path.
public func fuzzFile(_ bytes: UnsafePointer<UInt8>?, _ count: Int, suffix: String) -> String {
    let path = NSTemporaryDirectory() + "satseek-fuzz-\(getpid())\(suffix)"
    FileManager.default.createFile(atPath: path, contents: fuzzData(bytes, count))
    return path
}
