import Foundation
import FuzzSupport
import SatSeekCheckpoint

// Checkpoint.load on arbitrary bytes (zip, legacy pickle or safetensors by content): it must return tensors or
// throw a CheckpointError, and every tensor it returns must convert without reading outside its storage.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let url = URL(fileURLWithPath: fuzzFile(bytes, count, suffix: ".pth"))
    if let checkpoint = try? Checkpoint.load(url) {
        for tensor in checkpoint.tensors.values where tensor.shape.reduce(1, *) <= 1 << 20 {
            _ = try? tensor.floats()
        }
    }
    return 0
}

@_cdecl("FuzzCheckpoint_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzerDriver(argc, argv) { fuzzCheckpoint($0, $1) }
}
