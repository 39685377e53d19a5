/// A dense k×k convolution with few input channels (a network's stem) from a channel-major image to a
/// channels-last map, computed directly: every output pixel is the bias plus, for each of the
/// `inChannels·k·k` taps, one broadcast input value times a vector of weights (stored tap-major), two
/// neighbouring pixels at a time so each weight load feeds two FMAs; 32 output channels at a time, then 8,
/// then one by one.
public struct DirectConvolution2D: Sendable {
    public let convolution: Convolution2D
    /// `(inChannels·k·k) × outChannels`: the OIHW weights tap-major.
    let tapMajorWeight: [Float]

    public init(_ convolution: Convolution2D) {
        self.convolution = convolution
        let depth = convolution.inChannels * convolution.kernel * convolution.kernel
        let cout = convolution.outChannels
        tapMajorWeight = (0..<(depth * cout)).map { i in convolution.weight[(i % cout) * depth + i / cout] }
    }

    /// Applies the convolution to a channel-major image (`inChannels × height × width`, the preprocessed
    /// input) and writes `outHeight·outWidth × outChannels`. Output rows are split across threads; pixel
    /// pairs whose taps are all inside the image horizontally share weight loads, edge pixels go one at a
    /// time with their taps clipped.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(
        channelMajor input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) -> (height: Int, width: Int) {
        let (k, s, inChannels, cout) = (
            convolution.kernel, convolution.stride, convolution.inChannels,
            convolution.outChannels
        )
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: k, stride: s)
        let (lo, hi) = convolution.activation.clampBounds
        let lower = SIMD8<Float>(repeating: lo), upper = SIMD8<Float>(repeating: hi)
        tapMajorWeight.withUnsafeBufferPointer { weights in
            convolution.bias.withUnsafeBufferPointer { biases in
                let w = weights.baseAddress!, b = biases.baseAddress!
                parallelChunks(oh, threads: worthwhileThreads(threads, work: oh * ow * cout * inChannels * k * k)) {
                    rows in
                    for oy in rows {
                        let iy0 = oy * s - padding.top
                        let ky0 = max(0, -iy0), ky1 = min(k, height - iy0)
                        var ox = 0
                        while ox < ow {
                            let ix0 = ox * s - padding.left
                            let out = output + (oy * ow + ox) * cout
                            if ox + 1 < ow && ix0 >= 0 && ix0 + s + k <= width {
                                // Two pixels, all taps in bounds horizontally: 32 output channels (eight
                                // independent accumulators) at a time, then 8.
                                var c = 0
                                while c + 32 <= cout {
                                    var p0 = loadVector(b + c), p1 = loadVector(b + c + 8)
                                    var p2 = loadVector(b + c + 16), p3 = loadVector(b + c + 24)
                                    var q0 = p0, q1 = p1, q2 = p2, q3 = p3
                                    for ci in 0..<inChannels {
                                        for ky in ky0..<ky1 {
                                            let row = input + (ci * height + iy0 + ky) * width + ix0
                                            let t = w + ((ci * k + ky) * k) * cout + c
                                            for kx in 0..<k {
                                                let x0 = SIMD8<Float>(repeating: row[kx]),
                                                    x1 = SIMD8<Float>(repeating: row[kx + s])
                                                let tap = t + kx * cout
                                                let w0 = loadVector(tap), w1 = loadVector(tap + 8)
                                                let w2 = loadVector(tap + 16), w3 = loadVector(tap + 24)
                                                p0.addProduct(x0, w0); p1.addProduct(x0, w1)
                                                p2.addProduct(x0, w2); p3.addProduct(x0, w3)
                                                q0.addProduct(x1, w0); q1.addProduct(x1, w1)
                                                q2.addProduct(x1, w2); q3.addProduct(x1, w3)
                                            }
                                        }
                                    }
                                    storeVector(clamp(p0, lower, upper), out + c)
                                    storeVector(clamp(p1, lower, upper), out + c + 8)
                                    storeVector(clamp(p2, lower, upper), out + c + 16)
                                    storeVector(clamp(p3, lower, upper), out + c + 24)
                                    storeVector(clamp(q0, lower, upper), out + cout + c)
                                    storeVector(clamp(q1, lower, upper), out + cout + c + 8)
                                    storeVector(clamp(q2, lower, upper), out + cout + c + 16)
                                    storeVector(clamp(q3, lower, upper), out + cout + c + 24)
                                    c += 32
                                }
                                while c + 8 <= cout {
                                    var p0 = loadVector(b + c), p1 = p0
                                    for ci in 0..<inChannels {
                                        for ky in ky0..<ky1 {
                                            let row = input + (ci * height + iy0 + ky) * width + ix0
                                            let t = w + ((ci * k + ky) * k) * cout + c
                                            for kx in 0..<k {
                                                let weight = loadVector(t + kx * cout)
                                                p0.addProduct(SIMD8(repeating: row[kx]), weight)
                                                p1.addProduct(SIMD8(repeating: row[kx + s]), weight)
                                            }
                                        }
                                    }
                                    storeVector(clamp(p0, lower, upper), out + c)
                                    storeVector(clamp(p1, lower, upper), out + cout + c)
                                    c += 8
                                }
                                for pixel in 0..<2 {
                                    tail(
                                        from: c, input: input + ix0 + pixel * s, kx: 0..<k, ky: ky0..<ky1,
                                        iy0: iy0, height: height, width: width, output: out + pixel * cout)
                                }
                                ox += 2
                            } else {
                                let kx0 = max(0, -ix0), kx1 = min(k, width - ix0)
                                var c = 0
                                while c + 8 <= cout {
                                    var p0 = loadVector(b + c)
                                    for ci in 0..<inChannels {
                                        for ky in ky0..<ky1 {
                                            let row = input + (ci * height + iy0 + ky) * width + ix0
                                            let t = w + ((ci * k + ky) * k) * cout + c
                                            for kx in kx0..<kx1 {
                                                p0.addProduct(SIMD8(repeating: row[kx]), loadVector(t + kx * cout))
                                            }
                                        }
                                    }
                                    storeVector(clamp(p0, lower, upper), out + c)
                                    c += 8
                                }
                                tail(
                                    from: c, input: input + ix0, kx: kx0..<kx1, ky: ky0..<ky1,
                                    iy0: iy0, height: height, width: width, output: out)
                                ox += 1
                            }
                        }
                    }
                }
            }
        }
        return (oh, ow)
    }

    /// Output channels `first..<outChannels` of one pixel, one at a time (channel counts that are not a
    /// multiple of 8); `input` points at the pixel's tap-0 column of channel 0, row 0.
    @inline(__always)
    func tail(
        from first: Int, input: UnsafePointer<Float>, kx: Range<Int>, ky: Range<Int>, iy0: Int,
        height: Int, width: Int, output: UnsafeMutablePointer<Float>
    ) {
        let (k, cout) = (convolution.kernel, convolution.outChannels)
        let (lo, hi) = convolution.activation.clampBounds
        for c in first..<cout {
            var sum = convolution.bias[c]
            for ci in 0..<convolution.inChannels {
                for y in ky {
                    let row = input + (ci * height + iy0 + y) * width
                    for x in kx { sum += row[x] * tapMajorWeight[((ci * k + y) * k + x) * cout + c] }
                }
            }
            output[c] = min(max(sum, lo), hi)
        }
    }
}
