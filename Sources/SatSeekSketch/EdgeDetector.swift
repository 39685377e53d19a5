import Foundation
import SatSeekImaging

/// Canny-style structure edges of a photograph, written for sketch matching:
/// grey → Gaussian smoothing → Sobel gradients → non-maximum suppression → hysteresis → thinning →
/// removal of short fragments.
///
/// The hysteresis thresholds are not constants: they are percentiles of the image's own gradient
/// magnitude distribution, so a low-contrast desert tile and a high-contrast harbour both yield their
/// strongest structure. Only a small absolute floor (`noiseFloor`, in grey levels per pixel) keeps a
/// featureless tile from turning its noise into edges.
public struct EdgeDetector: Sendable, Equatable {
    /// Gaussian standard deviation as a fraction of the image's shorter side (2 px at 224 px).
    public var relativeSigma: Double = 1.0 / 112
    /// Pixels whose gradient magnitude is at or above this percentile (0…1) of all the image's
    /// magnitudes can start an edge.
    public var highPercentile: Double = 0.90
    /// Edges continue through local maxima at or above this percentile.
    public var lowPercentile: Double = 0.75
    /// Gradient magnitudes (grey levels per pixel after smoothing; a 15-level step blurred by σ = 2 px
    /// peaks at 3) below this never count as edges.
    public var noiseFloor: Float = 3
    /// Connected edge fragments shorter than this fraction of the shorter side are dropped (texture).
    public var minimumFragment: Double = 1.0 / 28

    /// The default detector.
    public init() {}

    /// The one-pixel-wide edge map of an image at its own size.
    public func edges(_ image: RGBImage) -> BinaryMask { edges(GrayImage(image)) }

    /// The one-pixel-wide edge map of a grey image (0…255) at its own size.
    public func edges(_ gray: GrayImage) -> BinaryMask {
        let (w, h) = (gray.width, gray.height)
        guard w >= 3 && h >= 3 else { return BinaryMask(width: w, height: h) }
        let side = Double(min(w, h))
        let smooth = gaussianBlur(gray, sigma: max(0.5, relativeSigma * side))

        // Sobel gradients.
        var magnitude = [Float](repeating: 0, count: w * h)
        var direction = [UInt8](repeating: 0, count: w * h)  // 0: horizontal gradient, 1: 45°, 2: vertical, 3: 135°
        for y in 0..<h {
            for x in 0..<w {
                let a = smooth.clamped(x - 1, y - 1), b = smooth.clamped(x, y - 1), c = smooth.clamped(x + 1, y - 1)
                let d = smooth.clamped(x - 1, y), f = smooth.clamped(x + 1, y)
                let g = smooth.clamped(x - 1, y + 1), k = smooth.clamped(x, y + 1), l = smooth.clamped(x + 1, y + 1)
                let gx = (c + 2 * f + l) - (a + 2 * d + g)
                let gy = (g + 2 * k + l) - (a + 2 * b + c)
                magnitude[y * w + x] = (gx * gx + gy * gy).squareRoot() / 4
                var angle = atan2(Double(gy), Double(gx)) * 180 / .pi
                if angle < 0 { angle += 180 }
                direction[y * w + x] = UInt8(Int((angle + 22.5) / 45) % 4)
            }
        }

        // Non-maximum suppression along the gradient direction; the image border is left out.
        var maxima = [Bool](repeating: false, count: w * h)
        let steps = [(1, 0), (1, 1), (0, 1), (-1, 1)]
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                let i = y * w + x
                let m = magnitude[i]
                guard m > 0 else { continue }
                let (dx, dy) = steps[Int(direction[i])]
                // Image rows grow downwards: gradient (gx, gy) at 45° points to (+1, +1).
                let before = magnitude[(y - dy) * w + (x - dx)], after = magnitude[(y + dy) * w + (x + dx)]
                maxima[i] = m >= before && m > after
            }
        }

        // Percentile thresholds from this image's magnitude distribution.
        let sorted = magnitude.sorted()
        func percentile(_ p: Double) -> Float {
            sorted[min(sorted.count - 1, max(0, Int(p * Double(sorted.count - 1))))]
        }
        let high = max(percentile(highPercentile), noiseFloor)
        let low = max(min(percentile(lowPercentile), high), noiseFloor / 2)

        // Hysteresis: grow from strong maxima through weak ones (8-connected).
        var mask = BinaryMask(width: w, height: h)
        var stack: [Int] = []
        for i in maxima.indices where maxima[i] && magnitude[i] >= high && !mask.bits[i] {
            mask.bits[i] = true
            stack.append(i)
            while let j = stack.popLast() {
                let x = j % w, y = j / w
                for o in BinaryMask.ring {
                    let nx = x + o.dx, ny = y + o.dy
                    guard nx >= 0, ny >= 0, nx < w, ny < h else { continue }
                    let n = ny * w + nx
                    if maxima[n] && !mask.bits[n] && magnitude[n] >= low {
                        mask.bits[n] = true
                        stack.append(n)
                    }
                }
            }
        }
        return mask.thinned().removingComponents(smallerThan: max(2, Int(minimumFragment * side)))
    }
}

/// Separable Gaussian blur with replicated borders (kernel radius ⌈3σ⌉).
public func gaussianBlur(_ image: GrayImage, sigma: Double) -> GrayImage {
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    let (w, h) = (image.width, image.height)
    var horizontal = [Float](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w {
            var sum: Float = 0
            for (k, weight) in kernel.enumerated() { sum += weight * image.clamped(x + k - radius, y) }
            horizontal[y * w + x] = sum
        }
    }
    let pass = GrayImage(width: w, height: h, pixels: horizontal)
    var out = [Float](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w {
            var sum: Float = 0
            for (k, weight) in kernel.enumerated() { sum += weight * pass.clamped(x, y + k - radius) }
            out[y * w + x] = sum
        }
    }
    return GrayImage(width: w, height: h, pixels: out)
}
