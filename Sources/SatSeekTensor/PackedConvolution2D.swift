/// A dense k×k convolution with few input channels (a network's stem) from a channel-major image to a
/// channels-last map.
///
/// When the output channels are a multiple of 8 it runs directly: every output pixel is the bias plus,
/// for each of the `inChannels·k·k` taps, one broadcast input value times a vector of weights (stored
/// tap-major), two neighbouring pixels at a time so each weight load feeds two FMAs. Otherwise it goes
/// through im2col rows and the packed GEMM of ``PackedPointwiseConvolution`` (the OIHW weights are exactly
/// a 1×1 convolution's `outC × (inC·k·k)` matrix).
public struct PackedConvolution2D: Sendable {
    public let convolution: Convolution2D
    let gemm: PackedPointwiseConvolution
    /// `(inChannels·k·k) × outChannels`: tap-major weights of the direct path.
    let tapMajorWeight: [Float]

    public init(_ convolution: Convolution2D) {
        self.convolution = convolution
        let depth = convolution.inChannels * convolution.kernel * convolution.kernel
        let cout = convolution.outChannels
        gemm = PackedPointwiseConvolution(PointwiseConvolution(
            inChannels: depth, outChannels: cout, weight: convolution.weight,
            bias: convolution.bias, activation: convolution.activation))
        tapMajorWeight = (0..<(depth * cout)).map { i in convolution.weight[(i % cout) * depth + i / cout] }
    }

    /// Floats of scratch space `apply` needs for an output of `outHeight × outWidth`.
    public func scratchCount(outHeight: Int, outWidth: Int) -> Int {
        convolution.scratchCount(outHeight: outHeight, outWidth: outWidth)
    }

    /// Applies the convolution to a channel-major image (`inChannels × height × width`, the preprocessed
    /// input) and writes `outHeight·outWidth × outChannels`.
    /// - Parameter scratch: ``scratchCount(outHeight:outWidth:)`` floats.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(channelMajor input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
                      output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                      threads: Int) -> (height: Int, width: Int) {
        let (k, s, inChannels) = (convolution.kernel, convolution.stride, convolution.inChannels)
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: k, stride: s)
        if convolution.outChannels % 8 == 0 {
            direct(input, height: height, width: width, padding: padding, outHeight: oh, outWidth: ow,
                   output: output, threads: threads)
            return (oh, ow)
        }
        let depth = inChannels * k * k
        parallelChunks(oh, threads: threads) { outRows in
            for oy in outRows {
                for ox in 0..<ow {
                    var column = scratch + (oy * ow + ox) * depth
                    let ix0 = ox * s - padding.left
                    let inside = ix0 >= 0 && ix0 + k <= width
                    for ci in 0..<inChannels {
                        for ky in 0..<k {
                            let iy = oy * s + ky - padding.top
                            // Element loops, not update(from:count:): a memmove call per 3 floats
                            // cost more than the copy.
                            if iy < 0 || iy >= height {
                                for kx in 0..<k { column[kx] = 0 }
                            } else {
                                let source = input + (ci * height + iy) * width
                                if inside {
                                    for kx in 0..<k { column[kx] = source[ix0 + kx] }
                                } else {
                                    for kx in 0..<k {
                                        let ix = ix0 + kx
                                        column[kx] = ix >= 0 && ix < width ? source[ix] : 0
                                    }
                                }
                            }
                            column += k
                        }
                    }
                }
            }
        }
        gemm.apply(scratch, pixels: oh * ow, output: output, threads: threads)
        return (oh, ow)
    }
}

extension PackedConvolution2D {
    /// The direct path: output rows split across threads; pixel pairs whose taps are all inside the image
    /// horizontally share weight loads, edge pixels go one at a time with their taps clipped.
    func direct(_ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding, outHeight oh: Int,
                outWidth ow: Int, output: UnsafeMutablePointer<Float>, threads: Int) {
        let (k, s, inChannels, cout) = (convolution.kernel, convolution.stride, convolution.inChannels,
                                        convolution.outChannels)
        let (lo, hi) = convolution.activation.clampBounds
        let lower = SIMD8<Float>(repeating: lo), upper = SIMD8<Float>(repeating: hi)
        tapMajorWeight.withUnsafeBufferPointer { weights in
            convolution.bias.withUnsafeBufferPointer { biases in
                let w = weights.baseAddress!, b = biases.baseAddress!
                parallelChunks(oh, threads: worthwhileThreads(threads, work: oh * ow * cout * inChannels * k * k)) { rows in
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
                                                let x0 = SIMD8<Float>(repeating: row[kx]), x1 = SIMD8<Float>(repeating: row[kx + s])
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
                                while c < cout {
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
                                ox += 2
                            } else {
                                let kx0 = max(0, -ix0), kx1 = min(k, width - ix0)
                                var c = 0
                                while c < cout {
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
                                ox += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
