/// Depthwise k×k convolution (groups = channels) with folded batch norm and fused activation.
///
/// Each channel is copied once into a zero-padded plane, so the inner loops carry no bounds tests, and
/// eight output columns are computed at once with `SIMD8<Float>` fused multiply-adds:
/// - stride 1: two output rows per pass share the input rows they both read (fewer loads per FMA);
/// - stride 2: the padded rows are stored de-interleaved (even columns, then odd columns), so every tap of
///   eight strided outputs is one contiguous load instead of a gather.
/// 3×3 and 5×5 kernels get loops unrolled for their size; other sizes run the same code with a runtime size.
public struct DepthwiseConvolution: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    /// `channels × kernel × kernel`.
    public let weight: [Float]
    /// The same weights tap-major, `kernel × kernel × channels`, for the channels-last kernel.
    let tapMajorWeight: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(channels: Int, kernel: Int, stride: Int, weight: [Float], bias: [Float], activation: Activation) {
        precondition(weight.count == channels * kernel * kernel && bias.count == channels)
        precondition(stride == 1 || stride == 2, "depthwise stride \(stride) not supported")
        self.channels = channels; self.kernel = kernel; self.stride = stride
        self.weight = weight; self.bias = bias; self.activation = activation
        let taps = kernel * kernel
        tapMajorWeight = (0..<(taps * channels)).map { i in weight[(i % channels) * taps + i / channels] }
    }

    /// Applies the convolution; channels are split across `threads`.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(_ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
                      output: UnsafeMutablePointer<Float>, threads: Int) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let geometry = DepthwiseGeometry(height: height, width: width, padding: padding, kernel: kernel, stride: stride,
                                         outHeight: oh, outWidth: ow)
        let (k, s, activation) = (kernel, stride, activation)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let threads = worthwhileThreads(threads, work: channels * oh * ow * k * k)
                parallelChunks(channels, threads: threads) { range in
                    let padded = UnsafeMutablePointer<Float>.allocate(capacity: geometry.paddedCount)
                    defer { padded.deallocate() }
                    padded.initialize(repeating: 0, count: geometry.paddedCount)
                    let taps = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: k * k)
                    defer { taps.deallocate() }
                    for c in range {
                        geometry.fillPadded(padded, from: input + c * height * width)
                        for t in 0..<(k * k) { taps[t] = SIMD8(repeating: w[c * k * k + t]) }
                        let channel = DepthwiseChannel(padded: padded, rowStride: geometry.rowStride, halfWidth: geometry.halfWidth,
                                                       taps: taps, bias: SIMD8(repeating: b[c]), activation: activation,
                                                       output: output + c * oh * ow, outHeight: oh, outWidth: ow)
                        switch (k, s) {
                        case (3, 1): channel.stride1(kernel: 3)
                        case (5, 1): channel.stride1(kernel: 5)
                        case (3, 2): channel.stride2(kernel: 3)
                        case (5, 2): channel.stride2(kernel: 5)
                        case (_, 1): channel.stride1(kernel: k)
                        default: channel.stride2(kernel: k)
                        }
                    }
                }
            }
        }
        return (oh, ow)
    }
}

/// Sizes of the padded plane one channel is copied into.
struct DepthwiseGeometry {
    let height: Int, width: Int, padding: Padding, stride: Int
    /// Floats per padded row.
    let rowStride: Int
    /// Stride 2: floats per half row (even columns at `0..<halfWidth`, odd columns after them).
    let halfWidth: Int
    let paddedCount: Int

    init(height: Int, width: Int, padding: Padding, kernel: Int, stride: Int, outHeight: Int, outWidth: Int) {
        self.height = height; self.width = width; self.padding = padding; self.stride = stride
        let vectorColumns = (outWidth + 7) / 8 * 8
        let paddedHeight = max(height + padding.top + padding.bottom, (outHeight - 1) * stride + kernel)
        if stride == 1 {
            // The last vector reads columns up to vectorColumns - 1 + kernel - 1.
            halfWidth = 0
            rowStride = max(width + padding.left + padding.right, vectorColumns + kernel - 1)
        } else {
            // Tap kx of output column o reads padded column 2·o + kx: half (kx & 1), index o + kx / 2.
            halfWidth = max((width + padding.left + padding.right + 1) / 2, vectorColumns + kernel / 2)
            rowStride = 2 * halfWidth
        }
        paddedCount = paddedHeight * rowStride
    }

    /// Copies one channel's `height × width` plane into the interior of `padded` (the border stays zero).
    @inline(__always)
    func fillPadded(_ padded: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>) {
        for y in 0..<height {
            let src = source + y * width
            let row = padded + (y + padding.top) * rowStride
            if stride == 1 {
                (row + padding.left).update(from: src, count: width)
            } else {
                // Column c = x + left goes to half (c & 1) at index c >> 1. From the first x whose column
                // is even, sixteen inputs split into eight for each half per step.
                let first = padding.left & 1
                let evens = row, odds = row + halfWidth
                var index = (first + padding.left) >> 1
                if first == 1 { odds[index - 1] = src[0] }
                var x = first
                while x + 16 <= width {
                    let pair = UnsafeRawPointer(src + x).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(evens + index).storeBytes(of: pair.evenHalf, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(odds + index).storeBytes(of: pair.oddHalf, as: SIMD8<Float>.self)
                    x += 16
                    index += 8
                }
                while x < width {
                    evens[index] = src[x]
                    if x + 1 < width { odds[index] = src[x + 1] }
                    x += 2
                    index += 1
                }
            }
        }
    }
}

/// One channel's work: padded input, broadcast taps, bias and activation, output plane.
struct DepthwiseChannel {
    let padded: UnsafeMutablePointer<Float>
    let rowStride: Int
    let halfWidth: Int
    let taps: UnsafeMutablePointer<SIMD8<Float>>
    let bias: SIMD8<Float>
    let output: UnsafeMutablePointer<Float>
    let outHeight: Int
    let outWidth: Int
    /// The activation as a clamp (ReLU6: 0…6, ReLU: 0…∞, none: −∞…∞).
    let lower: SIMD8<Float>
    let upper: SIMD8<Float>

    init(padded: UnsafeMutablePointer<Float>, rowStride: Int, halfWidth: Int, taps: UnsafeMutablePointer<SIMD8<Float>>,
         bias: SIMD8<Float>, activation: Activation, output: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
        self.padded = padded; self.rowStride = rowStride; self.halfWidth = halfWidth
        self.taps = taps; self.bias = bias; self.output = output
        self.outHeight = outHeight; self.outWidth = outWidth
        switch activation {
        case .none: (lower, upper) = (SIMD8(repeating: -.infinity), SIMD8(repeating: .infinity))
        case .relu: (lower, upper) = (SIMD8(repeating: 0), SIMD8(repeating: .infinity))
        case .relu6: (lower, upper) = (SIMD8(repeating: 0), SIMD8(repeating: 6))
        }
    }

    @inline(__always)
    private func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Writes eight outputs after the activation, a clamp. At a row's right edge the surplus lanes land at
    /// the start of the next row of this channel's plane — callers write that row afterwards (rows go top
    /// to bottom; the two-row pass walks its columns right to left) — and only the plane's last vector is
    /// written lane by lane, so nothing outside this channel (another thread's) is touched.
    @inline(__always)
    private func store(_ value: SIMD8<Float>, row: Int, column: Int) {
        let low = value.replacing(with: lower, where: value .< lower)
        let result = low.replacing(with: upper, where: low .> upper)
        let offset = row * outWidth + column
        let target = output + offset
        if offset + 8 <= outHeight * outWidth {
            UnsafeMutableRawPointer(target).storeBytes(of: result, as: SIMD8<Float>.self)
        } else {
            for lane in 0..<(outWidth - column) { target[lane] = result[lane] }
        }
    }

    /// Stride 1: output rows two at a time; each loaded input vector feeds both rows' sums.
    @inline(__always)
    func stride1(kernel k: Int) {
        var oy = 0
        let lastColumn = (outWidth - 1) / 8 * 8
        while oy + 2 <= outHeight {
            // Right to left: the top row's edge surplus spills into the bottom row's first columns,
            // which are written later in this loop.
            var column = lastColumn
            while column >= 0 {
                var top = bias, bottom = bias
                for r in 0..<(k + 1) {
                    let row = UnsafePointer(padded + (oy + r) * rowStride + column)
                    for kx in 0..<k {
                        let x = load(row + kx)
                        if r < k { top.addProduct(taps[r * k + kx], x) }
                        if r > 0 { bottom.addProduct(taps[(r - 1) * k + kx], x) }
                    }
                }
                store(top, row: oy, column: column)
                store(bottom, row: oy + 1, column: column)
                column -= 8
            }
            oy += 2
        }
        if oy < outHeight {
            var column = 0
            while column < outWidth {
                var sum = bias
                for r in 0..<k {
                    let row = UnsafePointer(padded + (oy + r) * rowStride + column)
                    for kx in 0..<k { sum.addProduct(taps[r * k + kx], load(row + kx)) }
                }
                store(sum, row: oy, column: column)
                column += 8
            }
        }
    }

    /// Stride 2 over de-interleaved rows: tap kx of eight outputs starting at column o is the contiguous
    /// run at `half(kx & 1) + o + kx / 2`.
    @inline(__always)
    func stride2(kernel k: Int) {
        for oy in 0..<outHeight {
            var column = 0
            while column < outWidth {
                var sum = bias
                for r in 0..<k {
                    let row = UnsafePointer(padded + (2 * oy + r) * rowStride + column)
                    for kx in 0..<k { sum.addProduct(taps[r * k + kx], load(row + (kx & 1) * halfWidth + kx >> 1)) }
                }
                store(sum, row: oy, column: column)
                column += 8
            }
        }
    }
}
