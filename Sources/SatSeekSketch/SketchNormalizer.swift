import SatSeekImaging

/// Brings line drawings of any size, position and stroke width to one canonical raster:
/// binarise → drop specks → thin to a one-pixel skeleton → crop to its bounding box → scale the
/// skeleton (as connected line segments, so nothing breaks up or vanishes) into a `canvas × canvas`
/// square with `margin` on the longer side, centred → thin again → thicken to the canonical stroke
/// width `2·strokeRadius + 1`.
///
/// Archive photographs take the same path from their edge map, so a sketch and a photo are compared as
/// the same kind of picture: dark strokes of one width on white, framed the same way.
public struct SketchNormalizer: Sendable, Equatable {
    /// Side of the square output in pixels (the model's input resolution).
    public var canvas: Int
    /// Blank border on each side, as a fraction of `canvas`.
    public var marginFraction: Double = 0.05
    /// Strokes come out `2·strokeRadius + 1` pixels wide.
    public var strokeRadius: Int
    /// Ink components smaller than this fraction of all ink pixels are removed as specks.
    public var speckFraction: Double = 0.005
    /// Half-width, in skeleton points, of the moving average that smooths each traced polyline.
    public var smoothing = 2

    /// - Parameters:
    ///   - canvas: Output side in pixels.
    ///   - strokeRadius: Default: `canvas / 112` (2 at 224 px: 5-pixel strokes).
    public init(canvas: Int, strokeRadius: Int? = nil) {
        precondition(canvas >= 16, "SketchNormalizer: canvas of \(canvas) pixels is too small")
        self.canvas = canvas
        self.strokeRadius = strokeRadius ?? max(1, canvas / 112)
    }

    /// The ink of a drawn sketch: Otsu's threshold on the grey levels; whichever side of it holds fewer
    /// pixels is the ink, so black-on-white and white-on-black drawings both work. A canvas whose grey
    /// levels span fewer than 24 levels is blank.
    public func binarize(_ image: RGBImage) -> BinaryMask {
        let gray = GrayImage(image)
        var histogram = [Int](repeating: 0, count: 256)
        for v in gray.pixels { histogram[min(255, max(0, Int(v.rounded())))] += 1 }
        let lowest = histogram.firstIndex { $0 > 0 } ?? 0, highest = histogram.lastIndex { $0 > 0 } ?? 0
        guard highest - lowest >= 24 else { return BinaryMask(width: image.width, height: image.height) }
        let threshold = otsuThreshold(histogram)
        let dark = histogram[0...threshold].reduce(0, +)
        let inkIsDark = dark * 2 <= gray.pixels.count
        let bits = gray.pixels.map { inkIsDark ? Int($0.rounded()) <= threshold : Int($0.rounded()) > threshold }
        let mask = BinaryMask(width: image.width, height: image.height, bits: bits)
        return mask.removingComponents(smallerThan: max(2, Int(speckFraction * Double(mask.inkCount))))
    }

    /// The canonical raster of a drawn sketch (a file or a canvas export).
    /// - Throws: `SketchError.empty` when there are no strokes.
    public func normalize(sketch: RGBImage) throws -> BinaryMask {
        try normalize(binarize(sketch))
    }

    /// The canonical raster of a line mask of any size (sketch ink or an edge map).
    /// - Throws: `SketchError.empty` when the mask has no ink.
    public func normalize(_ mask: BinaryMask) throws -> BinaryMask {
        // The frame is the skeleton's, so a thick pen does not shrink the drawing.
        let skeleton = mask.thinned()
        guard let box = skeleton.inkBounds else {
            throw SketchError.empty("the sketch has no strokes (blank or uniform image)")
        }
        let margin = marginFraction * Double(canvas)
        let extent = Double(max(box.maxX - box.minX, box.maxY - box.minY))
        let scale = extent > 0 ? (Double(canvas - 1) - 2 * margin) / extent : 1
        let centre = Double(canvas - 1) / 2
        let midX = Double(box.minX + box.maxX) / 2, midY = Double(box.minY + box.maxY) / 2
        func map(_ x: Double, _ y: Double) -> (Double, Double) {
            (centre + (x - midX) * scale, centre + (y - midY) * scale)
        }
        // Each polyline of the skeleton is smoothed (moving average over 2·smoothing + 1 points, end
        // points fixed) to remove the pixel staircase, which scaling up would otherwise magnify, and
        // drawn as connected segments, so nothing breaks up when scaling up or vanishes when scaling down.
        var out = BinaryMask(width: canvas, height: canvas)
        for chain in traceChains(skeleton, attachingEnds: true) {
            let points = smoothed(chain, radius: smoothing).map { map($0.0, $0.1) }
            guard var previous = points.first else { continue }
            out.drawLine(previous.0, previous.1, previous.0, previous.1)
            for point in points.dropFirst() {
                out.drawLine(previous.0, previous.1, point.0, point.1)
                previous = point
            }
        }
        return out.thinned().dilated(radius: strokeRadius)
    }
}

/// The points of a polyline averaged over `2·radius + 1` neighbours (fewer near the ends, which stay put).
func smoothed(_ chain: [(Int, Int)], radius: Int) -> [(Double, Double)] {
    let points = chain.map { (Double($0.0), Double($0.1)) }
    guard radius > 0, points.count > 2 else { return points }
    return points.indices.map { i in
        let r = min(radius, i, points.count - 1 - i)
        var x = 0.0, y = 0.0
        for j in (i - r)...(i + r) { x += points[j].0; y += points[j].1 }
        return (x / Double(2 * r + 1), y / Double(2 * r + 1))
    }
}

/// Otsu's threshold: the grey level `t` maximising the between-class variance of `≤ t` and `> t`.
func otsuThreshold(_ histogram: [Int]) -> Int {
    let total = Double(histogram.reduce(0, +))
    let sumAll = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
    var weightBelow = 0.0, sumBelow = 0.0
    var best = 0.0, threshold = 0
    for t in 0..<(histogram.count - 1) {
        weightBelow += Double(histogram[t])
        sumBelow += Double(t * histogram[t])
        let weightAbove = total - weightBelow
        guard weightBelow > 0, weightAbove > 0 else { continue }
        let meanBelow = sumBelow / weightBelow, meanAbove = (sumAll - sumBelow) / weightAbove
        let variance = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
        if variance > best { best = variance; threshold = t }
    }
    return threshold
}
