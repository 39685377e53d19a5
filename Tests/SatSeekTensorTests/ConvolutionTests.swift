import Testing
@testable import SatSeekTensor
import SatSeekRandom

/// Deterministic pseudo-random values (SplitMix64) so every run sees the same tensors.
struct SeededValues {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> Float { generator.signedUnitFloat() }
    mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// Direct (7-loop) grouped convolution used as the reference for the fast kernels.
func naiveConvolution(
    _ input: [Float], channels: Int, height: Int, width: Int, weight: [Float], bias: [Float],
    outChannels: Int, kernel: Int, stride: Int, padding: Padding, groups: Int,
    activation: (Float) -> Float
) -> (values: [Float], height: Int, width: Int) {
    let oh = (height + padding.top + padding.bottom - kernel) / stride + 1
    let ow = (width + padding.left + padding.right - kernel) / stride + 1
    let inPerGroup = channels / groups, outPerGroup = outChannels / groups
    var out = [Float](repeating: 0, count: outChannels * oh * ow)
    for oc in 0..<outChannels {
        let g = oc / outPerGroup
        for oy in 0..<oh {
            for ox in 0..<ow {
                var sum = Double(bias[oc])
                for icg in 0..<inPerGroup {
                    let ic = g * inPerGroup + icg
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let iy = oy * stride + ky - padding.top, ix = ox * stride + kx - padding.left
                            guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                            let w = weight[((oc * inPerGroup + icg) * kernel + ky) * kernel + kx]
                            sum += Double(w) * Double(input[(ic * height + iy) * width + ix])
                        }
                    }
                }
                out[(oc * oh + oy) * ow + ox] = activation(Float(sum))
            }
        }
    }
    return (out, oh, ow)
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func relu6(_ x: Float) -> Float { min(max(x, 0), 6) }

@Test("TensorFlow SAME padding puts the odd pixel at the bottom/right")
func samePadding() {
    #expect(
        Padding.same(height: 224, width: 224, kernel: 3, stride: 2) == Padding(top: 0, left: 0, bottom: 1, right: 1))
    #expect(Padding.same(height: 28, width: 28, kernel: 5, stride: 2) == Padding(top: 1, left: 1, bottom: 2, right: 2))
    #expect(Padding.same(height: 14, width: 14, kernel: 5, stride: 1) == .symmetric(2))
    #expect(Padding.same(height: 7, width: 7, kernel: 1, stride: 1) == .symmetric(0))
}

@Test("1×1 convolution equals the direct sum", arguments: [1, 2])
func pointwiseMatchesNaive(threads: Int) {
    var rng = SeededValues(seed: 1)
    let (cin, cout, h, w) = (7, 5, 6, 9)
    let input = rng.array(cin * h * w), weight = rng.array(cout * cin), bias = rng.array(cout)
    let conv = PointwiseConvolution(inChannels: cin, outChannels: cout, weight: weight, bias: bias, activation: .relu6)
    var output = [Float](repeating: .nan, count: cout * h * w)
    input.withUnsafeBufferPointer { i in
        output.withUnsafeMutableBufferPointer { o in
            conv.apply(i.baseAddress!, plane: h * w, output: o.baseAddress!, threads: threads)
        }
    }
    let reference = naiveConvolution(
        input, channels: cin, height: h, width: w, weight: weight, bias: bias,
        outChannels: cout, kernel: 1, stride: 1, padding: .symmetric(0), groups: 1, activation: relu6)
    #expect(maxAbsDifference(output, reference.values) < 1e-5)
}

@Test(
    "k×k convolution via im2col equals the direct sum",
    arguments: [(3, 2, 11, 1), (3, 1, 8, 2), (5, 2, 9, 2)])
func convolutionMatchesNaive(kernel: Int, stride: Int, size: Int, threads: Int) {
    var rng = SeededValues(seed: 2)
    let (cin, cout) = (3, 4)
    let input = rng.array(cin * size * size), weight = rng.array(cout * cin * kernel * kernel), bias = rng.array(cout)
    let conv = Convolution2D(
        inChannels: cin, outChannels: cout, kernel: kernel, stride: stride,
        weight: weight, bias: bias, activation: .none)
    let padding = Padding.same(height: size, width: size, kernel: kernel, stride: stride)
    let reference = naiveConvolution(
        input, channels: cin, height: size, width: size, weight: weight, bias: bias,
        outChannels: cout, kernel: kernel, stride: stride, padding: padding, groups: 1
    ) { $0 }
    var output = [Float](repeating: .nan, count: reference.values.count)
    var scratch = [Float](
        repeating: 0, count: conv.scratchCount(outHeight: reference.height, outWidth: reference.width))
    let shape = input.withUnsafeBufferPointer { i in
        output.withUnsafeMutableBufferPointer { o in
            scratch.withUnsafeMutableBufferPointer { s in
                conv.apply(
                    i.baseAddress!, height: size, width: size, padding: padding,
                    output: o.baseAddress!, scratch: s.baseAddress!, threads: threads)
            }
        }
    }
    #expect(shape.height == reference.height && shape.width == reference.width)
    #expect(maxAbsDifference(output, reference.values) < 1e-5)
}

@Test("folding batch norm into a convolution gives the same output as conv then BN")
func batchNormFolding() {
    var rng = SeededValues(seed: 4)
    let (cin, cout, plane) = (3, 4, 5)
    let input = rng.array(cin * plane), weight = rng.array(cout * cin)
    let bn = BatchNormParameters(
        gamma: rng.array(cout), beta: rng.array(cout),
        mean: rng.array(cout), variance: rng.array(cout).map { abs($0) + 0.1 }, epsilon: 1e-3)
    let folded = bn.fold(weight: weight)
    let conv = PointwiseConvolution(
        inChannels: cin, outChannels: cout, weight: folded.weight, bias: folded.bias, activation: .none)
    var output = [Float](repeating: 0, count: cout * plane)
    input.withUnsafeBufferPointer { i in
        output.withUnsafeMutableBufferPointer { o in
            conv.apply(i.baseAddress!, plane: plane, output: o.baseAddress!, threads: 1)
        }
    }
    for c in 0..<cout {
        for p in 0..<plane {
            var z: Float = 0
            for i in 0..<cin { z += weight[c * cin + i] * input[i * plane + p] }
            let expected = bn.gamma[c] * (z - bn.mean[c]) / (bn.variance[c] + bn.epsilon).squareRoot() + bn.beta[c]
            #expect(abs(output[c * plane + p] - expected) < 1e-5)
        }
    }
}

@Test("linear layer, global average pooling and L2 normalisation")
func reductions() {
    let linear = Linear(inFeatures: 3, outFeatures: 2, weight: [1, 2, 3, -1, 0, 1], bias: [0.5, -0.5])
    #expect(linear.apply([1, 1, 2]) == [9.5, 0.5])
    var pooled = [Float](repeating: 0, count: 2)
    let data: [Float] = [1, 2, 3, 4, 10, 20, 30, 40]
    data.withUnsafeBufferPointer { d in
        pooled.withUnsafeMutableBufferPointer { p in
            globalAveragePool(d.baseAddress!, channels: 2, plane: 4, output: p.baseAddress!)
        }
    }
    #expect(pooled == [2.5, 25])
    var vector: [Float] = [3, 4]
    vector.withUnsafeMutableBufferPointer { l2Normalize($0) }
    #expect(abs(vector[0] - 0.6) < 1e-6 && abs(vector[1] - 0.8) < 1e-6)
    var zero: [Float] = [0, 0]
    zero.withUnsafeMutableBufferPointer { l2Normalize($0) }
    #expect(zero == [0, 0])
}
