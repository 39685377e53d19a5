import Foundation
import SatSeekImaging
import SatSeekRandom

/// How synthetic sketch queries are drawn from a held-out photograph.
public enum SyntheticSketchStyle: String, Sendable, Codable, CaseIterable {
    /// `SketchSynthesizer`: the edge map traced, segments dropped, jittered and warped (the style
    /// `train-sketch` learns from).
    case edgeTrace = "edge-trace"
    /// `ContourSketchSynthesizer`: borders of posterised regions, simplified to a few straight strokes.
    case contours
}

/// The synthetic drawings `SketchSynthesizer` does not make: simplified outlines of a photo's main
/// regions instead of traced edges — for evaluating a sketch adapter trained on edge traces with a
/// generator of another style (so the score does not come from having learnt the generator).
///
/// With every random choice from `SplitMix64(seed:)` (lengths relative to the canvas side S):
/// 1. The photo is resized and centre-cropped to S × S, turned grey and blurred strongly (σ = S/40), so
///    only regions remain and texture is gone.
/// 2. **Posterised** into L ~ U{3, 4} bands at the grey-level quantiles of the blurred tile.
/// 3. The **borders between bands** are traced; borders shorter than 0.08 S are dropped.
/// 4. Every border is **simplified** with Douglas–Peucker at ε ~ U(0.012, 0.03)·S (drawn once), so curves
///    become a few straight strokes as a person outlines a shape.
/// 5. Drawn black on white with a round pen 1, 3 or 5 px wide at 224 px; no warp, no jitter.
public struct ContourSketchSynthesizer: Sendable {
    /// Side of the drawing in pixels.
    public var canvas: Int

    public init(canvas: Int) {
        self.canvas = canvas
    }

    /// An outline drawing of `image`, deterministic for a given `seed`.
    public func synthesize(from image: RGBImage, seed: UInt64) -> RGBImage {
        var random = SplitMix64(seed: seed)
        let s = Double(canvas)
        let framed = Preprocessing(resolution: canvas).resizedAndCropped(image)
        let blurred = gaussianBlur(GrayImage(framed), sigma: s / 40)
        let bands = 3 + Int(random.next() % 2)
        let epsilon = random.uniform(0.012...0.03) * s
        let radius = Int(random.next() % UInt64(max(1, canvas / 112) + 1))
        // 2. Bands at quantiles.
        let sorted = blurred.pixels.sorted()
        let cuts = (1..<bands).map { sorted[min(sorted.count - 1, $0 * sorted.count / bands)] }
        let band = blurred.pixels.map { v in cuts.reduce(0) { $0 + (v > $1 ? 1 : 0) } }
        // 3. Borders: a pixel whose right or lower neighbour lies in another band.
        var border = BinaryMask(width: canvas, height: canvas)
        for y in 0..<canvas {
            for x in 0..<canvas {
                let b = band[y * canvas + x]
                if (x + 1 < canvas && band[y * canvas + x + 1] != b)
                    || (y + 1 < canvas && band[(y + 1) * canvas + x] != b)
                {
                    border.bits[y * canvas + x] = true
                }
            }
        }
        var mask = BinaryMask(width: canvas, height: canvas)
        for chain in traceChains(border.thinned()) where Double(chain.count) >= 0.08 * s {
            let points = douglasPeucker(chain.map { (Double($0.0), Double($0.1)) }, epsilon: epsilon)
            for (a, b) in zip(points, points.dropFirst()) { mask.drawLine(a.0, a.1, b.0, b.1) }
        }
        return mask.dilated(radius: radius).rendered()
    }
}

/// Douglas–Peucker simplification of a polyline: keeps the end points and, recursively, the point
/// farthest from the chord while it lies more than `epsilon` away.
func douglasPeucker(_ points: [(Double, Double)], epsilon: Double) -> [(Double, Double)] {
    guard points.count > 2 else { return points }
    var keep = [Bool](repeating: false, count: points.count)
    keep[0] = true
    keep[points.count - 1] = true
    var stack = [(0, points.count - 1)]
    while let (first, last) = stack.popLast() {
        guard last > first + 1 else { continue }
        let (ax, ay) = points[first], (bx, by) = points[last]
        let dx = bx - ax, dy = by - ay, length = (dx * dx + dy * dy).squareRoot()
        var farthest = first, distance = 0.0
        for i in (first + 1)..<last {
            let (px, py) = points[i]
            let d =
                length > 0
                ? abs(dy * (px - ax) - dx * (py - ay)) / length
                : ((px - ax) * (px - ax) + (py - ay) * (py - ay)).squareRoot()
            if d > distance { (farthest, distance) = (i, d) }
        }
        if distance > epsilon {
            keep[farthest] = true
            stack.append((first, farthest))
            stack.append((farthest, last))
        }
    }
    return points.indices.filter { keep[$0] }.map { points[$0] }
}
