import Foundation
import SatSeekImaging
import SatSeekRandom

extension SplitMix64 {
    /// A seed derived from a run seed and a stable key (e.g. an image's `class/file` name): FNV-1a of
    /// the key's UTF-8 bytes mixed with the seed, so each image gets its own stream whatever the order
    /// or subset of images a run visits.
    public static func seed(_ seed: UInt64, key: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var mixer = SplitMix64(seed: hash ^ (seed &* 0x9E37_79B9_7F4A_7C15))
        return mixer.next()
    }
}

/// Turns a photograph into a sketch-like query, as a stand-in for a person tracing its main lines, so
/// that sketch retrieval can be evaluated without a sketch dataset.
///
/// The generator, with every random choice drawn from `SplitMix64(seed:)` (all lengths relative to
/// the canvas side S):
/// 1. The photo is resized and centre-cropped to S × S (the model's input framing) and its edge map is
///    computed with the archive's `EdgeDetector`.
/// 2. The edge skeleton is traced into polylines, which are cut into segments of 0.1–0.3 S.
/// 3. **Dropped segments:** each segment is removed with probability p ~ U(0.15, 0.35) (drawn once per
///    sketch); at least the longest segment survives.
/// 4. **Stroke jitter:** every 4th skeleton point becomes a vertex; each segment is shifted by
///    N(0, (0.008 S)²) per axis and each vertex by a smooth random walk
///    `o ← 0.6·o + N(0, (0.006 S)²)`, then consecutive vertices are joined by straight strokes.
/// 5. **Small affine warp** about the centre: rotation U(−8°, 8°), per-axis scale U(0.92, 1.08), shear
///    U(−0.08, 0.08), translation U(−0.03, 0.03)·S per axis.
/// 6. **Line width:** strokes are drawn black on white with a round pen of width 1, 3 or 5 pixels at
///    224 px (radius U{0 … S/112}).
///
/// The output is an ordinary RGB drawing; queries then go through `SketchNormalizer` exactly like a
/// person's sketch, so the normalisation is exercised and nothing is shared with the archive image's
/// rendering except the photo's content.
public struct SketchSynthesizer: Sendable {
    /// Side of the drawing in pixels.
    public var canvas: Int
    /// Edge detector (the archive's, so the same structure is traced).
    public var detector = EdgeDetector()
    /// Range of the per-sketch segment drop probability.
    public var dropProbability: ClosedRange<Double> = 0.15...0.35
    /// Largest rotation of the warp, degrees.
    public var maxRotationDegrees = 8.0

    /// A generator drawing on a `canvas × canvas` sheet (use the model resolution).
    public init(canvas: Int) {
        self.canvas = canvas
    }

    /// A sketch-like drawing of `image`, deterministic for a given `seed`.
    public func synthesize(from image: RGBImage, seed: UInt64) -> RGBImage {
        var random = SplitMix64(seed: seed)
        let framed = Preprocessing(resolution: canvas).resizedAndCropped(image)
        let edges = detector.edges(framed)
        let s = Double(canvas)

        // 2. Polylines cut into segments.
        var segments: [[(Int, Int)]] = []
        for chain in traceChains(edges) {
            var start = 0
            while start < chain.count {
                let length = Int(random.uniform(0.1...0.3) * s)
                segments.append(Array(chain[start..<min(chain.count, start + max(2, length))]))
                start += max(2, length)
            }
        }
        // 3. Dropped segments.
        let drop = random.uniform(dropProbability)
        let longest = segments.indices.max { segments[$0].count < segments[$1].count }
        var kept: [[(Int, Int)]] = []
        for (i, segment) in segments.enumerated() {
            let dropped = random.uniform(0...1) < drop
            if !dropped || i == longest { kept.append(segment) }
        }
        // 5. Affine warp (drawn before the jitter so the parameters do not depend on segment count).
        let angle = random.uniform(-maxRotationDegrees...maxRotationDegrees) * .pi / 180
        let scaleX = random.uniform(0.92...1.08), scaleY = random.uniform(0.92...1.08)
        let shear = random.uniform(-0.08...0.08)
        let shiftX = random.uniform(-0.03...0.03) * s, shiftY = random.uniform(-0.03...0.03) * s
        // 6. Pen width.
        let radius = Int(random.next() % UInt64(max(1, canvas / 112) + 1))
        let centre = (s - 1) / 2
        func warp(_ x: Double, _ y: Double) -> (Double, Double) {
            let u = (x - centre) * scaleX + shear * (y - centre), v = (y - centre) * scaleY
            return (
                centre + cos(angle) * u - sin(angle) * v + shiftX, centre + sin(angle) * u + cos(angle) * v + shiftY
            )
        }
        // 4. Jitter and drawing.
        var mask = BinaryMask(width: canvas, height: canvas)
        for segment in kept {
            let offsetX = random.gaussian() * 0.008 * s, offsetY = random.gaussian() * 0.008 * s
            var walkX = 0.0, walkY = 0.0
            var previous: (Double, Double)?
            let vertices =
                Array(stride(from: 0, to: segment.count, by: 4)) + (segment.count % 4 == 1 ? [] : [segment.count - 1])
            for index in vertices {
                walkX = 0.6 * walkX + random.gaussian() * 0.006 * s
                walkY = 0.6 * walkY + random.gaussian() * 0.006 * s
                let (x, y) = segment[index]
                let point = warp(Double(x) + offsetX + walkX, Double(y) + offsetY + walkY)
                if let previous { mask.drawLine(previous.0, previous.1, point.0, point.1) }
                previous = point
            }
            if vertices.count == 1, let point = previous { mask.drawLine(point.0, point.1, point.0, point.1) }
        }
        return mask.dilated(radius: radius).rendered()
    }
}

/// The ink of a one-pixel skeleton traced into 8-connected polylines: walks start at end points
/// (one neighbour), then at whatever is left (closed loops); a walk follows unvisited neighbours, edge
/// neighbours before corner ones, until it runs out.
/// - Parameter attachingEnds: Also begin (end) a polyline with an already traced pixel next to its first
///   (last) pixel, so that drawing the polylines reproduces junctions and closed loops without gaps;
///   such pixels then belong to two polylines.
public func traceChains(_ skeleton: BinaryMask, attachingEnds: Bool = false) -> [[(Int, Int)]] {
    let (w, h) = (skeleton.width, skeleton.height)
    var visited = [Bool](repeating: false, count: w * h)
    // Edge neighbours first, then corners.
    let order = [(0, -1), (1, 0), (0, 1), (-1, 0), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    func degree(_ x: Int, _ y: Int) -> Int { order.reduce(0) { $0 + (skeleton[x + $1.0, y + $1.1] ? 1 : 0) } }
    var starts: [Int] = []
    var others: [Int] = []
    for i in skeleton.bits.indices where skeleton.bits[i] {
        if degree(i % w, i / w) == 1 { starts.append(i) } else { others.append(i) }
    }
    var chains: [[(Int, Int)]] = []
    for start in starts + others where !visited[start] {
        var chain: [(Int, Int)] = []
        var (x, y) = (start % w, start / w)
        visited[start] = true
        chain.append((x, y))
        func tracedNeighbour(of p: (Int, Int), notIn recent: ArraySlice<(Int, Int)>) -> (Int, Int)? {
            order.lazy.map { (p.0 + $0.0, p.1 + $0.1) }.first { q in
                skeleton[q.0, q.1] && visited[q.1 * w + q.0] && !recent.contains { $0 == q }
            }
        }
        let anchor = attachingEnds ? tracedNeighbour(of: (x, y), notIn: []) : nil
        while let step = order.first(where: { skeleton[x + $0.0, y + $0.1] && !visited[(y + $0.1) * w + x + $0.0] }) {
            (x, y) = (x + step.0, y + step.1)
            visited[y * w + x] = true
            chain.append((x, y))
        }
        if let anchor { chain.insert(anchor, at: 0) }
        if attachingEnds, chain.count > 2, let end = tracedNeighbour(of: (x, y), notIn: chain.suffix(3)) {
            chain.append(end)
        }
        chains.append(chain)
    }
    return chains
}
