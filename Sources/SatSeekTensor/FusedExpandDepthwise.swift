/// An inverted-residual block's expansion (1×1, ReLU6) and depthwise convolution fused row by row, for
/// the large planes (112×112 to 28×28) where the expanded map — up to 112×112×96 floats, 4.8 MB — does
/// not fit in cache: written whole and read back, it made those layers wait on memory.
///
/// Each thread owns a band of output rows and a ring of `kernel` expanded input rows. For every output
/// row it expands the input rows the kernel newly reaches (one packed GEMM of `width` pixels each) into
/// the ring, then runs the depthwise taps over the ring's rows. Bands overlap by at most `kernel - 1`
/// input rows, which both threads expand; nothing else is computed twice.
public struct FusedExpandDepthwise: Sendable {
    public let expand: PackedPointwiseConvolution
    public let depthwise: DepthwiseConvolution

    public init(expand: PackedPointwiseConvolution, depthwise: DepthwiseConvolution) {
        checkArgument(expand.outChannels == depthwise.channels, "expansion and depthwise channels differ")
        self.expand = expand
        self.depthwise = depthwise
    }

    /// Floats of scratch `apply` needs per thread for input rows `width` pixels wide.
    public func scratchCount(width: Int) -> Int { depthwise.kernel * width * depthwise.channels }

    /// Applies expansion then depthwise convolution to a channels-last map.
    /// - Parameters:
    ///   - input: `height·width × expand.inChannels` floats.
    ///   - output: `outHeight·outWidth × channels` floats, the depthwise output.
    ///   - scratch: `threads × scratchCount(width:)` floats.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(
        _ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
        output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        threads: Int
    ) -> (height: Int, width: Int) {
        let (k, s, channels) = (depthwise.kernel, depthwise.stride, depthwise.channels)
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: k, stride: s)
        let inChannels = expand.inChannels
        let ringCount = scratchCount(width: width)
        let rowFloats = width * channels
        let threads = max(1, min(threads, oh))
        depthwise.withTaps(width: width, padLeft: padding.left) { taps in
            let slides = taps.slides(outputWidth: ow)
            parallelChunks(threads, threads: threads) { bands in
                for band in bands {
                    let ring = scratch + band * ringCount
                    let rows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: k)
                    defer { rows.deallocate() }
                    // Input rows below `expanded` are in the ring (the last k of them).
                    var expanded = Int.min
                    for oy in (oh * band / threads)..<(oh * (band + 1) / threads) {
                        let iy0 = oy * s - padding.top
                        let ky0 = max(0, -iy0), ky1 = min(k, height - iy0)
                        for iy in max(iy0 + ky0, expanded)..<(iy0 + ky1) {
                            expand.apply(
                                input + iy * width * inChannels, pixels: width,
                                output: ring + (iy % k) * rowFloats, threads: 1)
                        }
                        expanded = max(expanded, iy0 + ky1)
                        for ky in ky0..<ky1 { rows[ky] = UnsafePointer(ring + ((iy0 + ky) % k) * rowFloats) }
                        let out = output + oy * ow * channels
                        if slides {
                            for ox0 in stride(from: 0, to: ow, by: 7) {
                                taps.segment(rows: rows, ky0: ky0, ky1: ky1, ox0: ox0, output: out + ox0 * channels)
                            }
                            continue
                        }
                        var ox = 0
                        while ox + 1 < ow {
                            taps.pixelPair(rows: rows, ky0: ky0, ky1: ky1, ox: ox, output: out + ox * channels)
                            ox += 2
                        }
                        if ox < ow { taps.pixel(rows: rows, ky0: ky0, ky1: ky1, ox: ox, output: out + ox * channels) }
                    }
                }
            }
        }
        return (oh, ow)
    }
}
