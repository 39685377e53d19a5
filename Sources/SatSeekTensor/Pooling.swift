/// Max pooling over k×k windows with zero-padding treated as −∞ (PyTorch `MaxPool2d` semantics).
public struct MaxPool2D: Sendable {
    public let kernel: Int
    public let stride: Int
    public let padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    /// Pools each of `channels` planes.
    /// - Returns: The output height and width.
    @discardableResult
    public func apply(
        _ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
        output: UnsafeMutablePointer<Float>
    ) -> (height: Int, width: Int) {
        let oh = convolutionOutputSize(height, kernel: kernel, stride: stride, padBefore: padding, padAfter: padding)
        let ow = convolutionOutputSize(width, kernel: kernel, stride: stride, padBefore: padding, padAfter: padding)
        for c in 0..<channels {
            let src = input + c * height * width
            let dst = output + c * oh * ow
            for oy in 0..<oh {
                let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, height)
                for ox in 0..<ow {
                    let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, width)
                    var best = -Float.infinity
                    for y in y0..<y1 {
                        for x in x0..<x1 { best = max(best, src[y * width + x]) }
                    }
                    dst[oy * ow + ox] = best
                }
            }
        }
        return (oh, ow)
    }
}

/// `a = max(a + b, 0)` over `count` floats (residual connection followed by ReLU).
@inlinable
public func addReLUInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { a[i] = max(a[i] + b[i], 0) }
}
