extension DepthwiseConvolution {
    /// Applies the convolution to one channels-last feature map (`height·width × channels`), writing
    /// `outHeight·outWidth × channels`. Each output pixel sums its in-bounds taps (the padding is never
    /// materialised) over 32 channels at a time in four `SIMD8` accumulators; pixels are split across
    /// `threads`.
    /// - Returns: The output height and width.
    @discardableResult
    public func applyChannelsLast(_ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
                                  output: UnsafeMutablePointer<Float>, threads: Int) -> (height: Int, width: Int) {
        let oh = convolutionOutputSize(height, kernel: kernel, stride: stride, padBefore: padding.top, padAfter: padding.bottom)
        let ow = convolutionOutputSize(width, kernel: kernel, stride: stride, padBefore: padding.left, padAfter: padding.right)
        let (k, s, channels) = (kernel, stride, channels)
        let (lo, hi) = activation.clampBounds
        let lower = SIMD8<Float>(repeating: lo), upper = SIMD8<Float>(repeating: hi)
        tapMajorWeight.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { biases in
                let w = weights.baseAddress!, b = biases.baseAddress!
                let threads = worthwhileThreads(threads, work: channels * oh * ow * k * k)
                parallelChunks(oh * ow, threads: threads) { pixels in
                    for p in pixels {
                        let oy = p / ow, ox = p - (p / ow) * ow
                        let iy0 = oy * s - padding.top, ix0 = ox * s - padding.left
                        let ky0 = max(0, -iy0), ky1 = min(k, height - iy0)
                        let kx0 = max(0, -ix0), kx1 = min(k, width - ix0)
                        // Offset of tap (0, 0), which may lie in the padding; only in-bounds taps are read.
                        let origin = (iy0 * width + ix0) * channels
                        let out = output + p * channels
                        var c = 0
                        while c + 32 <= channels {
                            // Two sets of four accumulators (even and odd kernel rows): eight independent
                            // FMA chains instead of four hide the FMA latency.
                            var a0 = loadVector(b + c), a1 = loadVector(b + c + 8)
                            var a2 = loadVector(b + c + 16), a3 = loadVector(b + c + 24)
                            var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>(), e3 = SIMD8<Float>()
                            var ky = ky0
                            while ky + 2 <= ky1 {
                                for kx in kx0..<kx1 {
                                    let x = input + (origin + (ky * width + kx) * channels + c)
                                    let t = w + ((ky * k + kx) * channels + c)
                                    let y = x + width * channels, u = t + k * channels
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
                                for kx in kx0..<kx1 {
                                    let x = input + (origin + (ky * width + kx) * channels + c)
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
                                    a.addProduct(loadVector(input + (origin + (ky * width + kx) * channels + c)),
                                                 loadVector(w + ((ky * k + kx) * channels + c)))
                                }
                            }
                            storeVector(clamp(a, lower, upper), out + c)
                            c += 8
                        }
                        while c < channels {
                            var a = b[c]
                            for ky in ky0..<ky1 {
                                for kx in kx0..<kx1 {
                                    a += input[origin + (ky * width + kx) * channels + c] * w[(ky * k + kx) * channels + c]
                                }
                            }
                            out[c] = min(max(a, lo), hi)
                            c += 1
                        }
                    }
                }
            }
        }
        return (oh, ow)
    }
}
