import Foundation
import FuzzSupport
import SatSeekImaging

// The upload path: GDAL decoding of arbitrary bytes under the upload pixel cap, downsampled as the server does.
// It must return an image or throw an ImageError, whatever the bytes claim.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageDecoder(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    _ = try? ImageDecoder.decode(data: fuzzData(bytes, count), name: "fuzz-input", maxSide: 2048)
    return 0
}

@_cdecl("FuzzImageDecoder_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzerDriver(argc, argv) { fuzzImageDecoder($0, $1) }
}
