/// Element-wise activation fused into the epilogue of a convolution.
public enum Activation: Sendable {
    case none
    case relu
    /// min(max(x, 0), 6) — EfficientNet-Lite and MobileNet use it for quantisation friendliness.
    case relu6

    /// Adds `bias[c]` to every element of channel `c` and applies the activation, in place.
    ///
    /// - Parameters:
    ///   - data: Channel-major data, `channels × plane` floats.
    ///   - channels: Range of channels to process (lets callers split work by channel).
    ///   - plane: Elements per channel.
    ///   - bias: One value per channel.
    @inlinable
    public func applyBias(
        _ data: UnsafeMutablePointer<Float>, channels: Range<Int>, plane: Int,
        bias: UnsafePointer<Float>
    ) {
        for c in channels {
            let b = bias[c]
            let row = data + c * plane
            switch self {
            case .none:
                for i in 0..<plane { row[i] += b }
            case .relu:
                for i in 0..<plane { row[i] = max(row[i] + b, 0) }
            case .relu6:
                for i in 0..<plane { row[i] = min(max(row[i] + b, 0), 6) }
            }
        }
    }
}
