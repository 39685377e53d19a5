/// Depthwise k×k convolution (groups = channels) with folded batch norm and fused activation, on
/// channels-last maps (``applyChannelsLast(_:height:width:padding:output:threads:)``, and row by row inside
/// ``FusedExpandDepthwise``).
public struct DepthwiseConvolution: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    /// `channels × kernel × kernel`.
    public let weight: [Float]
    /// The same weights tap-major, `kernel × kernel × channels`, as the kernel reads them.
    let tapMajorWeight: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(channels: Int, kernel: Int, stride: Int, weight: [Float], bias: [Float], activation: Activation) {
        checkArgument(weight.count == channels * kernel * kernel && bias.count == channels)
        checkArgument(stride == 1 || stride == 2, "depthwise stride \(stride) not supported")
        self.channels = channels; self.kernel = kernel; self.stride = stride
        self.weight = weight; self.bias = bias; self.activation = activation
        let taps = kernel * kernel
        tapMajorWeight = (0..<(taps * channels)).map { i in weight[(i % channels) * taps + i / channels] }
    }
}
