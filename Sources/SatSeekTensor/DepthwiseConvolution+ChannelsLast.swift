extension DepthwiseConvolution {
    /// Applies the convolution to one channels-last feature map (`height·width × channels`), writing
    /// `outHeight·outWidth × channels`. Rows that split into 7-pixel segments (every EfficientNet layer)
    /// run the sliding segment kernels of `DepthwiseSegments.swift`; other shapes sum each output pixel's
    /// in-bounds taps (the padding is never materialised) over 32 channels at a time, two pixels sharing
    /// the weight loads. Segments or pixels are split across `threads`.
    /// - Returns: The output height and width.
    @discardableResult
    public func applyChannelsLast(
        _ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let (k, s, channels) = (kernel, stride, channels)
        withTaps(width: width, padLeft: padding.left) { taps in
            // The helper thread is usually spinning (hand-off well under a microsecond): even the 7 × 7
            // layers (≈ 0.5–1.4 M taps, 15–100 µs) gain from a split, so depthwise splits from 250 k taps.
            let threads = worthwhileThreads(threads, work: channels * oh * ow * k * k, perThread: 250_000)
            if taps.slides(outputWidth: ow) {
                let segmentsPerRow = ow / 7
                parallelChunks(oh * segmentsPerRow, threads: threads) { segments in
                    var rows = KernelRows(
                        input, height: height, rowFloats: width * channels, kernel: k, stride: s,
                        top: padding.top)
                    defer { rows.deallocate() }
                    for segment in segments {
                        let oy = segment / segmentsPerRow, ox0 = (segment - oy * segmentsPerRow) * 7
                        rows.move(to: oy)
                        taps.segment(
                            rows: rows.pointers, ky0: rows.ky0, ky1: rows.ky1, ox0: ox0,
                            output: output + (oy * ow + ox0) * channels)
                    }
                }
                return
            }
            parallelChunks(oh * ow, threads: threads) { pixels in
                var rows = KernelRows(
                    input, height: height, rowFloats: width * channels, kernel: k, stride: s,
                    top: padding.top)
                defer { rows.deallocate() }
                var p = pixels.lowerBound
                while p < pixels.upperBound {
                    let oy = p / ow, ox = p - (p / ow) * ow
                    rows.move(to: oy)
                    if ox + 1 < ow && p + 1 < pixels.upperBound {
                        taps.pixelPair(
                            rows: rows.pointers, ky0: rows.ky0, ky1: rows.ky1, ox: ox,
                            output: output + p * channels)
                        p += 2
                    } else {
                        taps.pixel(
                            rows: rows.pointers, ky0: rows.ky0, ky1: rows.ky1, ox: ox, output: output + p * channels)
                        p += 1
                    }
                }
            }
        }
        return (oh, ow)
    }

    /// Runs `body` with this layer's weights bound for input rows `width` pixels wide.
    func withTaps<T>(width: Int, padLeft: Int, _ body: (DepthwiseTaps) -> T) -> T {
        let (lo, hi) = activation.clampBounds
        return tapMajorWeight.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { biases in
                body(
                    DepthwiseTaps(
                        weights: weights.baseAddress!, bias: biases.baseAddress!, channels: channels,
                        kernel: kernel, stride: stride, padLeft: padLeft, width: width,
                        lower: SIMD8(repeating: lo), upper: SIMD8(repeating: hi)))
            }
        }
    }
}

/// The input rows of a channels-last map that one output row's kernel reaches, as the row pointers the
/// depthwise kernels take (kernel row `ky` at `pointers[ky]`, in bounds for `ky0..<ky1`; the padding rows
/// are never materialised). Re-pointed only when the output row changes.
struct KernelRows {
    let pointers: UnsafeMutablePointer<UnsafePointer<Float>>
    private(set) var ky0 = 0
    private(set) var ky1 = 0
    private var outputRow = -1
    private let input: UnsafePointer<Float>
    private let height: Int, rowFloats: Int, kernel: Int, stride: Int, top: Int

    init(_ input: UnsafePointer<Float>, height: Int, rowFloats: Int, kernel: Int, stride: Int, top: Int) {
        pointers = .allocate(capacity: kernel)
        self.input = input
        self.height = height; self.rowFloats = rowFloats; self.kernel = kernel; self.stride = stride; self.top = top
    }

    func deallocate() { pointers.deallocate() }

    /// Points the rows at those output row `oy` reaches.
    @inline(__always)
    mutating func move(to oy: Int) {
        guard oy != outputRow else { return }
        let iy0 = oy * stride - top
        (ky0, ky1) = (max(0, -iy0), min(kernel, height - iy0))
        for ky in ky0..<ky1 { pointers[ky] = input + (iy0 + ky) * rowFloats }
        outputRow = oy
    }
}

/// A channels-last depthwise layer's taps, applied one output pixel at a time to input rows given as
/// pointers (kernel row `ky` reads `rows[ky]`), so whole maps and ring buffers of rows share the kernel.
struct DepthwiseTaps {
    /// Tap-major, `kernel × kernel × channels`.
    let weights: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let channels: Int, kernel: Int, stride: Int, padLeft: Int
    /// Input pixels per row.
    let width: Int
    let lower: SIMD8<Float>, upper: SIMD8<Float>

    /// Output pixel `ox` of a row whose in-bounds kernel rows are `ky0..<ky1`; writes channels
    /// `first..<channels` of the pixel at `out`.
    @inline(__always)
    func pixel(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox: Int,
        output out: UnsafeMutablePointer<Float>, first: Int = 0
    ) {
        let k = kernel, channels = channels, w = weights, b = bias
        let ix0 = ox * stride - padLeft
        let kx0 = max(0, -ix0), kx1 = min(k, width - ix0)
        var c = first
        while c + 32 <= channels {
            // Two sets of four accumulators (even and odd kernel rows): eight independent FMA chains
            // instead of four hide the FMA latency.
            var a0 = loadVector(b + c), a1 = loadVector(b + c + 8)
            var a2 = loadVector(b + c + 16), a3 = loadVector(b + c + 24)
            var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
            var ky = ky0
            while ky + 2 <= ky1 {
                let upperRow = rows[ky] + c, lowerRow = rows[ky + 1] + c
                for kx in kx0..<kx1 {
                    let x = upperRow + (ix0 + kx) * channels, y = lowerRow + (ix0 + kx) * channels
                    let t = w + ((ky * k + kx) * channels + c), u = t + k * channels
                    a0.addProduct(loadVector(x), loadVector(t))
                    a1.addProduct(loadVector(x + 8), loadVector(t + 8))
                    a2.addProduct(loadVector(x + 16), loadVector(t + 16))
                    a3.addProduct(loadVector(x + 24), loadVector(t + 24))
                    e0.addProduct(loadVector(y), loadVector(u))
                    e1.addProduct(loadVector(y + 8), loadVector(u + 8))
                    e2.addProduct(loadVector(y + 16), loadVector(u + 16))
                    e3.addProduct(loadVector(y + 24), loadVector(u + 24))
                }
                ky += 2
            }
            if ky < ky1 {
                let row = rows[ky] + c
                for kx in kx0..<kx1 {
                    let x = row + (ix0 + kx) * channels
                    let t = w + ((ky * k + kx) * channels + c)
                    a0.addProduct(loadVector(x), loadVector(t))
                    a1.addProduct(loadVector(x + 8), loadVector(t + 8))
                    a2.addProduct(loadVector(x + 16), loadVector(t + 16))
                    a3.addProduct(loadVector(x + 24), loadVector(t + 24))
                }
            }
            a0 += e0; a1 += e1; a2 += e2; a3 += e3
            storeVector(clamp(a0, lower, upper), out + c)
            storeVector(clamp(a1, lower, upper), out + c + 8)
            storeVector(clamp(a2, lower, upper), out + c + 16)
            storeVector(clamp(a3, lower, upper), out + c + 24)
            c += 32
        }
        while c + 8 <= channels {
            var a = loadVector(b + c)
            for ky in ky0..<ky1 {
                for kx in kx0..<kx1 {
                    a.addProduct(
                        loadVector(rows[ky] + ((ix0 + kx) * channels + c)),
                        loadVector(w + ((ky * k + kx) * channels + c)))
                }
            }
            storeVector(clamp(a, lower, upper), out + c)
            c += 8
        }
        while c < channels {
            var a = b[c]
            for ky in ky0..<ky1 {
                for kx in kx0..<kx1 { a += rows[ky][(ix0 + kx) * channels + c] * w[(ky * k + kx) * channels + c] }
            }
            out[c] = min(max(a, lower[0]), upper[0])
            c += 1
        }
    }

    /// Output pixels `ox` and `ox + 1` of a row (written at `out` and `out + channels`): the taps both
    /// pixels have in bounds share each weight load (12 loads per 8 FMAs instead of 16), the taps only one
    /// of them has at an image border run alone.
    @inline(__always)
    func pixelPair(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        let k = kernel, channels = channels, w = weights, b = bias
        let ixA = ox * stride - padLeft, ixB = ixA + stride
        let a0 = max(0, -ixA), a1 = min(k, width - ixA)
        let b0 = max(0, -ixB), b1 = min(k, width - ixB)
        let s0 = max(a0, b0), s1 = max(s0, min(a1, b1))
        let step = stride * channels
        var c = 0
        while c + 32 <= channels {
            var p0 = loadVector(b + c), p1 = loadVector(b + c + 8), p2 = loadVector(b + c + 16),
                p3 = loadVector(b + c + 24)
            var q0 = p0, q1 = p1, q2 = p2, q3 = p3
            for ky in ky0..<ky1 {
                let row = rows[ky] + c
                let taps = w + (ky * k * channels + c)
                var kx = s0
                while kx < s1 {
                    let t = taps + kx * channels
                    let x = row + (ixA + kx) * channels, y = x + step
                    let w0 = loadVector(t), w1 = loadVector(t + 8), w2 = loadVector(t + 16), w3 = loadVector(t + 24)
                    p0.addProduct(loadVector(x), w0); p1.addProduct(loadVector(x + 8), w1)
                    p2.addProduct(loadVector(x + 16), w2); p3.addProduct(loadVector(x + 24), w3)
                    q0.addProduct(loadVector(y), w0); q1.addProduct(loadVector(y + 8), w1)
                    q2.addProduct(loadVector(y + 16), w2); q3.addProduct(loadVector(y + 24), w3)
                    kx += 1
                }
                // Border taps of one pixel only: left of the shared run, then right of it. (Written out:
                // moving these loops and the stores below into helpers with inout accumulators measured
                // 6–10 % slower; even a store-only helper taking the eight accumulators by value makes the
                // compiler spill eight of them to the stack.)
                kx = a0
                while kx < a1 {
                    if kx == s0 && s0 < s1 { kx = s1; continue }
                    let t = taps + kx * channels, x = row + (ixA + kx) * channels
                    p0.addProduct(loadVector(x), loadVector(t)); p1.addProduct(loadVector(x + 8), loadVector(t + 8))
                    p2.addProduct(loadVector(x + 16), loadVector(t + 16));
                    p3.addProduct(loadVector(x + 24), loadVector(t + 24))
                    kx += 1
                }
                kx = b0
                while kx < b1 {
                    if kx == s0 && s0 < s1 { kx = s1; continue }
                    let t = taps + kx * channels, y = row + (ixB + kx) * channels
                    q0.addProduct(loadVector(y), loadVector(t)); q1.addProduct(loadVector(y + 8), loadVector(t + 8))
                    q2.addProduct(loadVector(y + 16), loadVector(t + 16));
                    q3.addProduct(loadVector(y + 24), loadVector(t + 24))
                    kx += 1
                }
            }
            storeVector(clamp(p0, lower, upper), out + c)
            storeVector(clamp(p1, lower, upper), out + c + 8)
            storeVector(clamp(p2, lower, upper), out + c + 16)
            storeVector(clamp(p3, lower, upper), out + c + 24)
            storeVector(clamp(q0, lower, upper), out + channels + c)
            storeVector(clamp(q1, lower, upper), out + channels + c + 8)
            storeVector(clamp(q2, lower, upper), out + channels + c + 16)
            storeVector(clamp(q3, lower, upper), out + channels + c + 24)
            c += 32
        }
        if c < channels {
            pixel(rows: rows, ky0: ky0, ky1: ky1, ox: ox, output: out, first: c)
            pixel(rows: rows, ky0: ky0, ky1: ky1, ox: ox + 1, output: out + channels, first: c)
        }
    }
}
