/// Depthwise rows in segments of seven output pixels (seven divides every EfficientNet plane
/// width: 112, 56, 28, 14, 7), eight channels at a time, with the input sliding through registers.
///
/// The pixel and pixel-pair kernels load an input vector and a weight vector for (nearly) every
/// multiply-add: 1.5 loads per FMA, and on the 14×14 and 7×7 planes the five input rows a kernel reaches
/// (up to 190 KB) live in L2, not L1, so those loads set the pace. Here one kernel row's `k` weights sit
/// in registers and each input pixel of the segment is loaded once and multiplied into every output of
/// the seven it reaches: for a 5×5 kernel 16 loads per 35 FMAs. Inputs left or right of the image are
/// skipped (the padding is never materialised), so border segments need no separate kernel.
///
/// The four kernels repeat their framing (channel loop, bias, kernel-row loop, weight loads) on purpose:
/// the seven accumulators and up to five weights must stay in registers, and passing accumulators to a
/// shared helper `inout` made the compiler spill them in the pixel-pair kernel (6–10 % slower there).
extension DepthwiseTaps {
    /// Whether ``segment(rows:ky0:ky1:ox0:output:)`` applies to output rows `outputWidth` pixels wide: a
    /// 3×3 or 5×5 kernel, whole 8-channel vectors, rows that split into whole segments, and padding that
    /// leaves at most the two outermost inputs of a segment outside the image (stride 1: "same" padding;
    /// stride 2: TensorFlow "SAME" or symmetric padding of an even-width input).
    func slides(outputWidth ow: Int) -> Bool {
        guard (kernel == 3 || kernel == 5), channels % 8 == 0, ow % 7 == 0, ow > 0 else { return false }
        if stride == 1 { return padLeft == kernel / 2 && ow == width }
        return stride == 2 && (0...2).contains(padLeft) && 2 * (ow - 1) - padLeft + kernel <= width + 2
    }

    /// Output pixels `ox0..<ox0 + 7` of a row whose in-bounds kernel rows are `ky0..<ky1`, written at `out`
    /// (`7 × channels` floats). Requires ``slides(outputWidth:)``.
    @inline(__always)
    func segment(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox0: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        switch (stride, kernel) {
        case (1, 5): segment5(rows: rows, ky0: ky0, ky1: ky1, ox0: ox0, output: out)
        case (1, _): segment3(rows: rows, ky0: ky0, ky1: ky1, ox0: ox0, output: out)
        case (_, 5): segment5Stride2(rows: rows, ky0: ky0, ky1: ky1, ox0: ox0, output: out)
        default: segment3Stride2(rows: rows, ky0: ky0, ky1: ky1, ox0: ox0, output: out)
        }
    }

    @inline(__always)
    private func segment5(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox0: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        let channels = channels
        let left = ox0 > 0, right = ox0 + 7 < width
        // Input pixel ox0 - 2 + i feeds outputs i - 4 ... i.
        let first = (ox0 - 2) * channels
        var c = 0
        while c < channels {
            let b = loadVector(bias + c)
            var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b
            for ky in ky0..<ky1 {
                let t = weights + (ky * 5 * channels + c)
                let w0 = loadVector(t), w1 = loadVector(t + channels), w2 = loadVector(t + 2 * channels)
                let w3 = loadVector(t + 3 * channels), w4 = loadVector(t + 4 * channels)
                let r = rows[ky] + (first + c)
                var x: SIMD8<Float>
                if left {
                    x = loadVector(r)
                    a0.addProduct(x, w0)
                    x = loadVector(r + channels)
                    a0.addProduct(x, w1); a1.addProduct(x, w0)
                }
                x = loadVector(r + 2 * channels)
                a0.addProduct(x, w2); a1.addProduct(x, w1); a2.addProduct(x, w0)
                x = loadVector(r + 3 * channels)
                a0.addProduct(x, w3); a1.addProduct(x, w2); a2.addProduct(x, w1); a3.addProduct(x, w0)
                x = loadVector(r + 4 * channels)
                a0.addProduct(x, w4); a1.addProduct(x, w3); a2.addProduct(x, w2); a3.addProduct(x, w1)
                a4.addProduct(x, w0)
                x = loadVector(r + 5 * channels)
                a1.addProduct(x, w4); a2.addProduct(x, w3); a3.addProduct(x, w2); a4.addProduct(x, w1)
                a5.addProduct(x, w0)
                x = loadVector(r + 6 * channels)
                a2.addProduct(x, w4); a3.addProduct(x, w3); a4.addProduct(x, w2); a5.addProduct(x, w1)
                a6.addProduct(x, w0)
                x = loadVector(r + 7 * channels)
                a3.addProduct(x, w4); a4.addProduct(x, w3); a5.addProduct(x, w2); a6.addProduct(x, w1)
                x = loadVector(r + 8 * channels)
                a4.addProduct(x, w4); a5.addProduct(x, w3); a6.addProduct(x, w2)
                if right {
                    x = loadVector(r + 9 * channels)
                    a5.addProduct(x, w4); a6.addProduct(x, w3)
                    x = loadVector(r + 10 * channels)
                    a6.addProduct(x, w4)
                }
            }
            store7(a0, a1, a2, a3, a4, a5, a6, out + c)
            c += 8
        }
    }

    @inline(__always)
    private func segment3(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox0: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        let channels = channels
        let left = ox0 > 0, right = ox0 + 7 < width
        // Input pixel ox0 - 1 + i feeds outputs i - 2 ... i.
        let first = (ox0 - 1) * channels
        var c = 0
        while c < channels {
            let b = loadVector(bias + c)
            var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b
            for ky in ky0..<ky1 {
                let t = weights + (ky * 3 * channels + c)
                let w0 = loadVector(t), w1 = loadVector(t + channels), w2 = loadVector(t + 2 * channels)
                let r = rows[ky] + (first + c)
                var x: SIMD8<Float>
                if left {
                    x = loadVector(r)
                    a0.addProduct(x, w0)
                }
                x = loadVector(r + channels)
                a0.addProduct(x, w1); a1.addProduct(x, w0)
                x = loadVector(r + 2 * channels)
                a0.addProduct(x, w2); a1.addProduct(x, w1); a2.addProduct(x, w0)
                x = loadVector(r + 3 * channels)
                a1.addProduct(x, w2); a2.addProduct(x, w1); a3.addProduct(x, w0)
                x = loadVector(r + 4 * channels)
                a2.addProduct(x, w2); a3.addProduct(x, w1); a4.addProduct(x, w0)
                x = loadVector(r + 5 * channels)
                a3.addProduct(x, w2); a4.addProduct(x, w1); a5.addProduct(x, w0)
                x = loadVector(r + 6 * channels)
                a4.addProduct(x, w2); a5.addProduct(x, w1); a6.addProduct(x, w0)
                x = loadVector(r + 7 * channels)
                a5.addProduct(x, w2); a6.addProduct(x, w1)
                if right {
                    x = loadVector(r + 8 * channels)
                    a6.addProduct(x, w2)
                }
            }
            store7(a0, a1, a2, a3, a4, a5, a6, out + c)
            c += 8
        }
    }

    @inline(__always)
    private func segment5Stride2(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox0: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        let channels = channels
        // Input pixel 2·ox0 - padLeft + i feeds outputs (i - 4) / 2 ... i / 2 (rounded inwards); only the
        // two outermost on each side can fall outside the image.
        let start = 2 * ox0 - padLeft
        let lo = -start, hi = width - start
        let first = start * channels
        var c = 0
        while c < channels {
            let b = loadVector(bias + c)
            var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b
            for ky in ky0..<ky1 {
                let t = weights + (ky * 5 * channels + c)
                let w0 = loadVector(t), w1 = loadVector(t + channels), w2 = loadVector(t + 2 * channels)
                let w3 = loadVector(t + 3 * channels), w4 = loadVector(t + 4 * channels)
                let r = rows[ky] + (first + c)
                var x: SIMD8<Float>
                if lo <= 0 { a0.addProduct(loadVector(r), w0) }
                if lo <= 1 { a0.addProduct(loadVector(r + channels), w1) }
                x = loadVector(r + 2 * channels); a0.addProduct(x, w2); a1.addProduct(x, w0)
                x = loadVector(r + 3 * channels); a0.addProduct(x, w3); a1.addProduct(x, w1)
                x = loadVector(r + 4 * channels); a0.addProduct(x, w4); a1.addProduct(x, w2); a2.addProduct(x, w0)
                x = loadVector(r + 5 * channels); a1.addProduct(x, w3); a2.addProduct(x, w1)
                x = loadVector(r + 6 * channels); a1.addProduct(x, w4); a2.addProduct(x, w2); a3.addProduct(x, w0)
                x = loadVector(r + 7 * channels); a2.addProduct(x, w3); a3.addProduct(x, w1)
                x = loadVector(r + 8 * channels); a2.addProduct(x, w4); a3.addProduct(x, w2); a4.addProduct(x, w0)
                x = loadVector(r + 9 * channels); a3.addProduct(x, w3); a4.addProduct(x, w1)
                x = loadVector(r + 10 * channels); a3.addProduct(x, w4); a4.addProduct(x, w2); a5.addProduct(x, w0)
                x = loadVector(r + 11 * channels); a4.addProduct(x, w3); a5.addProduct(x, w1)
                x = loadVector(r + 12 * channels); a4.addProduct(x, w4); a5.addProduct(x, w2); a6.addProduct(x, w0)
                x = loadVector(r + 13 * channels); a5.addProduct(x, w3); a6.addProduct(x, w1)
                x = loadVector(r + 14 * channels); a5.addProduct(x, w4); a6.addProduct(x, w2)
                if hi > 15 { a6.addProduct(loadVector(r + 15 * channels), w3) }
                if hi > 16 { a6.addProduct(loadVector(r + 16 * channels), w4) }
            }
            store7(a0, a1, a2, a3, a4, a5, a6, out + c)
            c += 8
        }
    }

    @inline(__always)
    private func segment3Stride2(
        rows: UnsafePointer<UnsafePointer<Float>>, ky0: Int, ky1: Int, ox0: Int,
        output out: UnsafeMutablePointer<Float>
    ) {
        let channels = channels
        // Input pixel 2·ox0 - padLeft + i feeds outputs (i - 2) / 2 ... i / 2 (rounded inwards).
        let start = 2 * ox0 - padLeft
        let lo = -start, hi = width - start
        let first = start * channels
        var c = 0
        while c < channels {
            let b = loadVector(bias + c)
            var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b
            for ky in ky0..<ky1 {
                let t = weights + (ky * 3 * channels + c)
                let w0 = loadVector(t), w1 = loadVector(t + channels), w2 = loadVector(t + 2 * channels)
                let r = rows[ky] + (first + c)
                var x: SIMD8<Float>
                if lo <= 0 { a0.addProduct(loadVector(r), w0) }
                if lo <= 1 { a0.addProduct(loadVector(r + channels), w1) }
                x = loadVector(r + 2 * channels); a0.addProduct(x, w2); a1.addProduct(x, w0)
                a1.addProduct(loadVector(r + 3 * channels), w1)
                x = loadVector(r + 4 * channels); a1.addProduct(x, w2); a2.addProduct(x, w0)
                a2.addProduct(loadVector(r + 5 * channels), w1)
                x = loadVector(r + 6 * channels); a2.addProduct(x, w2); a3.addProduct(x, w0)
                a3.addProduct(loadVector(r + 7 * channels), w1)
                x = loadVector(r + 8 * channels); a3.addProduct(x, w2); a4.addProduct(x, w0)
                a4.addProduct(loadVector(r + 9 * channels), w1)
                x = loadVector(r + 10 * channels); a4.addProduct(x, w2); a5.addProduct(x, w0)
                a5.addProduct(loadVector(r + 11 * channels), w1)
                x = loadVector(r + 12 * channels); a5.addProduct(x, w2); a6.addProduct(x, w0)
                if hi > 13 { a6.addProduct(loadVector(r + 13 * channels), w1) }
                if hi > 14 { a6.addProduct(loadVector(r + 14 * channels), w2) }
            }
            store7(a0, a1, a2, a3, a4, a5, a6, out + c)
            c += 8
        }
    }

    /// Clamps and stores one 8-channel slice of the segment's seven pixels.
    @inline(__always)
    private func store7(
        _ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>,
        _ a4: SIMD8<Float>, _ a5: SIMD8<Float>, _ a6: SIMD8<Float>,
        _ out: UnsafeMutablePointer<Float>
    ) {
        let step = channels
        storeVector(clamp(a0, lower, upper), out)
        storeVector(clamp(a1, lower, upper), out + step)
        storeVector(clamp(a2, lower, upper), out + 2 * step)
        storeVector(clamp(a3, lower, upper), out + 3 * step)
        storeVector(clamp(a4, lower, upper), out + 4 * step)
        storeVector(clamp(a5, lower, upper), out + 5 * step)
        storeVector(clamp(a6, lower, upper), out + 6 * step)
    }
}
