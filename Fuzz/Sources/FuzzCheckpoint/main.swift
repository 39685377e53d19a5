import Foundation
import FuzzSupport
import SatSeekCheckpoint

// Checkpoint.load on arbitrary bytes (zip, legacy pickle or safetensors by content): it must return tensors or
// throw a CheckpointError, and every tensor it returns must convert without reading outside its storage.
runFuzzer { bytes, count in
    let url = URL(fileURLWithPath: fuzzFile(bytes, count, suffix: ".pth"))
    if let checkpoint = try? Checkpoint.load(url) {
        for tensor in checkpoint.tensors.values where tensor.shape.reduce(1, *) <= 1 << 20 {
            _ = try? tensor.floats()
        }
    }
    return 0
}
