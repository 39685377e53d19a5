import COpenBLAS

/// Zero padding on each side of a feature map, in pixels.
public struct Padding: Sendable, Equatable {
    public var top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }

    /// Symmetric padding, as in PyTorch's `Conv2d(padding: p)`.
    public static func symmetric(_ p: Int) -> Padding { Padding(top: p, left: p, bottom: p, right: p) }

    /// TensorFlow "SAME" padding: output = ceil(input / stride); the odd pixel goes to the bottom/right.
    /// EfficientNet(-Lite) checkpoints converted from TensorFlow rely on it.
    public static func same(height: Int, width: Int, kernel: Int, stride: Int) -> Padding {
        func split(_ size: Int) -> (Int, Int) {
            let out = (size + stride - 1) / stride
            let total = max((out - 1) * stride + kernel - size, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = split(height)
        let (left, right) = split(width)
        return Padding(top: top, left: left, bottom: bottom, right: right)
    }
}

extension Padding {
    /// Output height and width of a `kernel × kernel` window with this padding and `stride` over a
    /// `height × width` map.
    @inlinable
    public func outputSize(height: Int, width: Int, kernel: Int, stride: Int) -> (height: Int, width: Int) {
        (
            convolutionOutputSize(height, kernel: kernel, stride: stride, padBefore: top, padAfter: bottom),
            convolutionOutputSize(width, kernel: kernel, stride: stride, padBefore: left, padAfter: right)
        )
    }
}

/// Spatial size of a convolution's output.
@inlinable
public func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int) -> Int {
    (size + padBefore + padAfter - kernel) / stride + 1
}

/// 1×1 convolution with folded batch norm and fused activation, computed as one GEMM per call:
/// `output[outC × plane] = weight[outC × inC] · input[inC × plane] + bias`.
public struct PointwiseConvolution: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// Row-major `outChannels × inChannels`.
    public let weight: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(inChannels: Int, outChannels: Int, weight: [Float], bias: [Float], activation: Activation) {
        checkArgument(weight.count == inChannels * outChannels && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.weight = weight; self.bias = bias; self.activation = activation
    }

    /// Applies the convolution to one channel-major feature map.
    /// - Parameters:
    ///   - input: `inChannels × plane` floats.
    ///   - plane: Height × width.
    ///   - output: `outChannels × plane` floats, overwritten.
    ///   - threads: Output channels are split across this many threads.
    public func apply(_ input: UnsafePointer<Float>, plane: Int, output: UnsafeMutablePointer<Float>, threads: Int) {
        multiplyAddBias(
            weight: weight, bias: bias, activation: activation, depth: inChannels,
            columns: input, plane: plane, output: output, threads: threads)
    }
}

/// `output[outC × plane] = activation(weight[outC × depth] · columns[depth × plane] + bias)`, one SGEMM
/// per chunk of output channels (chunks only when the product is large enough to pay for a thread).
func multiplyAddBias(
    weight: [Float], bias: [Float], activation: Activation, depth: Int,
    columns: UnsafePointer<Float>, plane: Int, output: UnsafeMutablePointer<Float>, threads: Int
) {
    let outChannels = bias.count
    weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
            let threads = worthwhileThreads(threads, work: outChannels * depth * plane)
            parallelChunks(outChannels, threads: threads) { rows in
                guard !rows.isEmpty else { return }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans,
                    Int32(rows.count), Int32(plane), Int32(depth),
                    1, w.baseAddress! + rows.lowerBound * depth, Int32(depth),
                    columns, Int32(plane),
                    0, output + rows.lowerBound * plane, Int32(plane))
                activation.applyBias(output, channels: rows, plane: plane, bias: b.baseAddress!)
            }
        }
    }
}

/// Dense k×k convolution (groups = 1) via im2col + GEMM, with folded batch norm and fused activation.
public struct Convolution2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    /// Row-major `outChannels × (inChannels·kernel·kernel)`, PyTorch's OIHW flattened.
    public let weight: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
        weight: [Float], bias: [Float], activation: Activation
    ) {
        checkArgument(weight.count == outChannels * inChannels * kernel * kernel && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride
        self.weight = weight; self.bias = bias; self.activation = activation
    }

    /// Floats of scratch space `apply` needs for an output of `outHeight × outWidth`.
    public func scratchCount(outHeight: Int, outWidth: Int) -> Int {
        inChannels * kernel * kernel * outHeight * outWidth
    }

    /// Applies the convolution to one channel-major feature map.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(
        _ input: UnsafePointer<Float>, height: Int, width: Int, padding: Padding,
        output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        threads: Int
    ) -> (height: Int, width: Int) {
        let (oh, ow) = padding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
        let plane = oh * ow
        let k = kernel, s = stride
        // im2col: row (ci, ky, kx), column (oy, ox).
        parallelChunks(inChannels * k * k, threads: threads) { rows in
            for row in rows {
                let ci = row / (k * k), ky = (row / k) % k, kx = row % k
                let dst = scratch + row * plane
                let src = input + ci * height * width
                for oy in 0..<oh {
                    let iy = oy * s + ky - padding.top
                    let out = dst + oy * ow
                    if iy < 0 || iy >= height {
                        out.update(repeating: 0, count: ow)
                        continue
                    }
                    for ox in 0..<ow {
                        let ix = ox * s + kx - padding.left
                        out[ox] = (ix >= 0 && ix < width) ? src[iy * width + ix] : 0
                    }
                }
            }
        }
        multiplyAddBias(
            weight: weight, bias: bias, activation: activation, depth: inChannels * k * k,
            columns: scratch, plane: plane, output: output, threads: threads)
        return (oh, ow)
    }
}
