import Foundation
import FuzzSupport
import SatSeekImaging

// The upload path: GDAL decoding of arbitrary bytes under the upload pixel cap, downsampled as the server does.
// It must return an image or throw an ImageError, whatever the bytes claim.
runFuzzer { bytes, count in
    _ = try? ImageDecoder.decode(data: fuzzData(bytes, count), name: "fuzz-input", maxSide: 2048)
    return 0
}
