import Testing
@testable import SatSeekTensor

/// `channels × pixels` planes → `pixels × channels` rows.
func channelsLast(_ planes: [Float], channels: Int, pixels: Int) -> [Float] {
    var rows = [Float](repeating: 0, count: planes.count)
    for c in 0..<channels { for p in 0..<pixels { rows[p * channels + c] = planes[c * pixels + p] } }
    return rows
}

@Test(
    "channels-last 1×1 convolution equals the direct sum, split by pixels or by output channels",
    arguments: [(7, 5, 6, 9), (512, 100, 7, 7), (32, 24, 64, 64), (1152, 192, 7, 7)])
func pointwiseChannelsLastMatchesNaive(cin: Int, cout: Int, height: Int, width: Int) {
    var rng = SeededValues(seed: 11)
    let pixels = height * width
    let input = rng.array(cin * pixels), weight = rng.array(cout * cin).map { $0 * 0.1 }, bias = rng.array(cout)
    let conv = PointwiseConvolution(inChannels: cin, outChannels: cout, weight: weight, bias: bias, activation: .relu6)
    let reference = naiveConvolution(
        input, channels: cin, height: height, width: width, weight: weight, bias: bias,
        outChannels: cout, kernel: 1, stride: 1, padding: .symmetric(0), groups: 1, activation: relu6)
    let rows = channelsLast(input, channels: cin, pixels: pixels)
    for threads in [1, 2] {
        var output = [Float](repeating: .nan, count: cout * pixels)
        rows.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                conv.applyChannelsLast(i.baseAddress!, pixels: pixels, output: o.baseAddress!, threads: threads)
            }
        }
        #expect(maxAbsDifference(output, channelsLast(reference.values, channels: cout, pixels: pixels)) < 1e-4)
    }
}

@Test(
    "stem convolution from a channel-major image to channels-last equals the direct sum (32-, 8- and 1-channel paths)",
    arguments: [(3, 2, 11, 32), (3, 2, 224, 32), (5, 1, 9, 40), (3, 1, 6, 12), (3, 2, 12, 8), (3, 2, 13, 35)])
func convolutionChannelsLastMatchesNaive(kernel: Int, stride: Int, size: Int, cout: Int) {
    var rng = SeededValues(seed: 12)
    let cin = 3
    let input = rng.array(cin * size * size), weight = rng.array(cout * cin * kernel * kernel), bias = rng.array(cout)
    let conv = DirectConvolution2D(
        Convolution2D(
            inChannels: cin, outChannels: cout, kernel: kernel, stride: stride,
            weight: weight, bias: bias, activation: .relu6))
    let padding = Padding.same(height: size, width: size, kernel: kernel, stride: stride)
    let reference = naiveConvolution(
        input, channels: cin, height: size, width: size, weight: weight, bias: bias,
        outChannels: cout, kernel: kernel, stride: stride, padding: padding,
        groups: 1, activation: relu6)
    let pixels = reference.height * reference.width
    for threads in [1, 2] {
        var output = [Float](repeating: .nan, count: reference.values.count)
        let shape = input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                conv.apply(
                    channelMajor: i.baseAddress!, height: size, width: size, padding: padding,
                    output: o.baseAddress!, threads: threads)
            }
        }
        #expect(shape.height == reference.height && shape.width == reference.width)
        #expect(maxAbsDifference(output, channelsLast(reference.values, channels: cout, pixels: pixels)) < 1e-4)
    }
}

@Test(
    "channels-last depthwise convolution equals a grouped direct sum (7-pixel segments, 32-, 8- and 1-channel paths)",
    arguments: [
        (3, 1, 14, 14, 32), (3, 1, 6, 21, 40), (5, 1, 3, 14, 16), (3, 2, 28, 28, 24), (5, 2, 14, 14, 16),
        (5, 2, 9, 28, 8), (3, 2, 5, 13, 16), (3, 1, 10, 7, 44), (5, 2, 14, 9, 44), (3, 2, 9, 12, 13), (5, 1, 5, 3, 8),
        (5, 1, 28, 28, 200),
        (3, 2, 23, 18, 96), (7, 1, 11, 19, 3), (5, 1, 7, 7, 1152), (3, 1, 17, 33, 6), (5, 2, 23, 18, 6),
        (7, 2, 13, 21, 6)
    ])
func depthwiseChannelsLastMatchesNaive(kernel: Int, stride: Int, height: Int, width: Int, channels: Int) {
    var rng = SeededValues(seed: 13)
    let input = rng.array(channels * height * width), weight = rng.array(channels * kernel * kernel),
        bias = rng.array(channels)
    let padding = Padding.same(height: height, width: width, kernel: kernel, stride: stride)
    let conv = DepthwiseConvolution(
        channels: channels, kernel: kernel, stride: stride, weight: weight, bias: bias, activation: .relu6)
    let reference = naiveConvolution(
        input, channels: channels, height: height, width: width, weight: weight, bias: bias,
        outChannels: channels, kernel: kernel, stride: stride, padding: padding,
        groups: channels, activation: relu6)
    let rows = channelsLast(input, channels: channels, pixels: height * width)
    let expected = channelsLast(reference.values, channels: channels, pixels: reference.height * reference.width)
    for threads in [1, 2] {
        var output = [Float](repeating: .nan, count: reference.values.count)
        let shape = rows.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                conv.applyChannelsLast(
                    i.baseAddress!, height: height, width: width, padding: padding,
                    output: o.baseAddress!, threads: threads)
            }
        }
        #expect(shape.height == reference.height && shape.width == reference.width)
        #expect(maxAbsDifference(output, expected) < 1e-5)
    }
}

@Test("channels-last average pooling and the transposition back to planes")
func channelsLastPoolingAndTranspose() {
    var rng = SeededValues(seed: 14)
    let (channels, pixels) = (21, 10)
    let planes = rng.array(channels * pixels)
    let rows = channelsLast(planes, channels: channels, pixels: pixels)
    var pooled = [Float](repeating: .nan, count: channels), reference = pooled
    var back = [Float](repeating: .nan, count: planes.count)
    rows.withUnsafeBufferPointer { r in
        pooled.withUnsafeMutableBufferPointer {
            globalAveragePoolChannelsLast(r.baseAddress!, pixels: pixels, channels: channels, output: $0.baseAddress!)
        }
        back.withUnsafeMutableBufferPointer {
            channelMajor(fromChannelsLast: r.baseAddress!, pixels: pixels, channels: channels, output: $0.baseAddress!)
        }
    }
    planes.withUnsafeBufferPointer { p in
        reference.withUnsafeMutableBufferPointer {
            globalAveragePool(p.baseAddress!, channels: channels, plane: pixels, output: $0.baseAddress!)
        }
    }
    #expect(maxAbsDifference(pooled, reference) < 1e-6)
    #expect(back == planes)
}

@Test(
    "packed 1×1 convolution equals the direct sum plus the residual (16- and 8-wide panels, 6- and 5-pixel blocks, row tails, SGEMM fallback)",
    arguments: [
        (7, 24, 6, 9), (33, 40, 7, 7), (24, 40, 4, 5), (8, 16, 3, 5), (16, 16, 1, 13), (5, 12, 3, 5), (1152, 192, 7, 7),
        (16, 96, 56, 56), (112, 672, 14, 14)
    ])
func packedPointwiseMatchesNaive(cin: Int, cout: Int, height: Int, width: Int) {
    var rng = SeededValues(seed: 15)
    let pixels = height * width
    let input = rng.array(cin * pixels), weight = rng.array(cout * cin).map { $0 * 0.1 }, bias = rng.array(cout)
    let residual = rng.array(cout * pixels)
    for activation in [Activation.relu6, .none] {
        let conv = PackedPointwiseConvolution(
            PointwiseConvolution(
                inChannels: cin, outChannels: cout, weight: weight,
                bias: bias, activation: activation))
        let reference = naiveConvolution(
            input, channels: cin, height: height, width: width, weight: weight, bias: bias,
            outChannels: cout, kernel: 1, stride: 1, padding: .symmetric(0), groups: 1,
            activation: activation == .relu6 ? relu6 : { $0 })
        let expected = zip(channelsLast(reference.values, channels: cout, pixels: pixels), residual).map { $0 + $1 }
        let rows = channelsLast(input, channels: cin, pixels: pixels)
        for threads in [1, 2] {
            var output = [Float](repeating: .nan, count: cout * pixels)
            rows.withUnsafeBufferPointer { i in
                residual.withUnsafeBufferPointer { r in
                    output.withUnsafeMutableBufferPointer { o in
                        conv.apply(
                            i.baseAddress!, pixels: pixels, output: o.baseAddress!, residual: r.baseAddress!,
                            threads: threads)
                    }
                }
            }
            #expect(maxAbsDifference(output, expected) < 1e-4, "\(cin)→\(cout) @\(height)×\(width), \(threads) threads")
        }
    }
}

@Test(
    "fused expansion + depthwise equals the two layers run one after the other",
    arguments: [
        (3, 1, 28, 28, 16, 96), (3, 2, 30, 29, 24, 40), (5, 2, 31, 28, 8, 144), (5, 1, 9, 33, 5, 13),
        (3, 2, 28, 28, 16, 24), (5, 2, 14, 28, 24, 40)
    ])
func fusedExpandDepthwiseMatchesSeparateLayers(kernel: Int, stride: Int, height: Int, width: Int, cin: Int, hidden: Int)
{
    var rng = SeededValues(seed: 16)
    let pixels = height * width
    let input = rng.array(pixels * cin)
    let expand = PackedPointwiseConvolution(
        PointwiseConvolution(
            inChannels: cin, outChannels: hidden, weight: rng.array(hidden * cin), bias: rng.array(hidden),
            activation: .relu6))
    let depthwise = DepthwiseConvolution(
        channels: hidden, kernel: kernel, stride: stride,
        weight: rng.array(hidden * kernel * kernel), bias: rng.array(hidden), activation: .relu6)
    let padding = Padding.same(height: height, width: width, kernel: kernel, stride: stride)
    let fused = FusedExpandDepthwise(expand: expand, depthwise: depthwise)
    var expanded = [Float](repeating: .nan, count: pixels * hidden)
    let oh = convolutionOutputSize(
        height, kernel: kernel, stride: stride, padBefore: padding.top, padAfter: padding.bottom)
    let ow = convolutionOutputSize(
        width, kernel: kernel, stride: stride, padBefore: padding.left, padAfter: padding.right)
    var expected = [Float](repeating: .nan, count: oh * ow * hidden)
    input.withUnsafeBufferPointer { i in
        expanded.withUnsafeMutableBufferPointer { e in
            expand.apply(i.baseAddress!, pixels: pixels, output: e.baseAddress!, threads: 1)
            expected.withUnsafeMutableBufferPointer { o in
                _ = depthwise.applyChannelsLast(
                    e.baseAddress!, height: height, width: width, padding: padding,
                    output: o.baseAddress!, threads: 1)
            }
        }
    }
    for threads in [1, 2] {
        var output = [Float](repeating: .nan, count: expected.count)
        var scratch = [Float](repeating: .nan, count: threads * fused.scratchCount(width: width))
        let shape = input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    fused.apply(
                        i.baseAddress!, height: height, width: width, padding: padding,
                        output: o.baseAddress!, scratch: s.baseAddress!, threads: threads)
                }
            }
        }
        #expect(shape.height == oh && shape.width == ow)
        #expect(maxAbsDifference(output, expected) < 1e-5, "\(threads) threads")
    }
}

@Test("the profile sums each call position's fastest run per name, in first-seen order")
func profileFastestPerCall() {
    let profile = LayerProfile()
    // Two runs of three calls: stem, block, block.
    for (name, seconds) in [
        ("stem", 3.0), ("block", 5.0), ("block", 1.0), ("stem", 2.0), ("block", 7.0), ("block", 4.0)
    ] {
        profile.record(name, seconds: seconds)
    }
    let fastest = profile.fastestPerCall(runs: 2)
    #expect(fastest.map(\.name) == ["stem", "block"])
    #expect(fastest.map(\.seconds) == [2.0, 5.0 + 1.0])
    #expect(profile.fastestPerCall(runs: 4).isEmpty, "6 calls are not 4 identical runs")
}
