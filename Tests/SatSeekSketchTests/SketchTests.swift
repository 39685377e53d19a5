import Foundation
import Testing
import SatSeekImaging
@testable import SatSeekSketch
import SatSeekRandom

/// An RGB canvas filled with `background`, on which `paint(x, y)` returns true for ink pixels.
func canvas(
    width: Int, height: Int, ink: UInt8 = 0, background: UInt8 = 255,
    _ paint: (Int, Int) -> Bool
) -> RGBImage {
    var pixels = [UInt8](repeating: background, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width where paint(x, y) {
            let i = (y * width + x) * 3
            pixels[i] = ink; pixels[i + 1] = ink; pixels[i + 2] = ink
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// A circle outline of radius `r` and stroke width `stroke` centred at (`cx`, `cy`).
func circle(
    width: Int, height: Int, cx: Double, cy: Double, r: Double, stroke: Double,
    ink: UInt8 = 0, background: UInt8 = 255
) -> RGBImage {
    canvas(width: width, height: height, ink: ink, background: background) { x, y in
        let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
        return abs(d - r) <= stroke / 2
    }
}

/// Mean distance of the ink of `a` to the nearest ink of `b` (pixels); symmetric use gives a chamfer distance.
func meanNearestDistance(_ a: BinaryMask, _ b: BinaryMask) -> Double {
    let target = b.bits.indices.filter { b.bits[$0] }.map { (Double($0 % b.width), Double($0 / b.width)) }
    let source = a.bits.indices.filter { a.bits[$0] }.map { (Double($0 % a.width), Double($0 / a.width)) }
    guard !target.isEmpty, !source.isEmpty else { return .infinity }
    let total = source.reduce(0.0) { sum, p in
        sum + target.map { (($0.0 - p.0) * ($0.0 - p.0) + ($0.1 - p.1) * ($0.1 - p.1)).squareRoot() }.min()!
    }
    return total / Double(source.count)
}

/// The mask as a grey image (ink = 1) blurred with σ = 1.5 px.
func blurred(_ mask: BinaryMask) -> GrayImage {
    gaussianBlur(GrayImage(width: mask.width, height: mask.height, pixels: mask.bits.map { $0 ? 1 : 0 }), sigma: 1.5)
}

/// Pearson correlation of two same-sized grey images.
func correlation(_ a: GrayImage, _ b: GrayImage) -> Double {
    let n = Double(a.pixels.count)
    let ma = a.pixels.reduce(0) { $0 + Double($1) } / n, mb = b.pixels.reduce(0) { $0 + Double($1) } / n
    var ab = 0.0, aa = 0.0, bb = 0.0
    for (x, y) in zip(a.pixels, b.pixels) {
        let (dx, dy) = (Double(x) - ma, Double(y) - mb)
        ab += dx * dy; aa += dx * dx; bb += dy * dy
    }
    return ab / (aa * bb).squareRoot()
}

@Suite("sketch normaliser")
struct SketchNormalizerTests {
    let normalizer = SketchNormalizer(canvas: 128)

    @Test("a circle drawn at two sizes, positions and stroke widths normalises to near-identical rasters")
    func circleInvariance() throws {
        let small = circle(width: 200, height: 160, cx: 60, cy: 70, r: 30, stroke: 3)
        let large = circle(width: 400, height: 500, cx: 250, cy: 300, r: 120, stroke: 9)
        let a = try normalizer.normalize(sketch: small)
        let b = try normalizer.normalize(sketch: large)
        // Strokes are 3 px wide, so sub-pixel rounding differences weigh heavily in a raw IoU: compare
        // the rasters with a 1-pixel tolerance, by their correlation after a slight blur, and by the
        // mean distance from each stroke pixel to the other drawing.
        let iou = a.dilated(radius: 1).intersectionOverUnion(b.dilated(radius: 1))
        #expect(iou > 0.75, "IoU within 1 px: \(iou)")
        #expect(a.intersectionOverUnion(b) > 0.6, "raw IoU \(a.intersectionOverUnion(b))")
        let r = correlation(blurred(a), blurred(b))
        #expect(r > 0.9, "correlation \(r)")
        #expect(meanNearestDistance(a, b) < 1.0 && meanNearestDistance(b, a) < 1.0)
        // A different shape in the same frame is far less similar.
        let square = try normalizer.normalize(
            sketch: canvas(width: 200, height: 200) { x, y in
                (20...180).contains(x) && (20...180).contains(y) && (x <= 22 || x >= 178 || y <= 22 || y >= 178)
            })
        #expect(correlation(blurred(a), blurred(square)) < r - 0.3)
        // Both fill the canvas minus the margin, centred.
        for mask in [a, b] {
            let box = try #require(mask.inkBounds)
            let margin = Int(normalizer.marginFraction * 128)
            #expect(
                abs(box.minX - margin) <= normalizer.strokeRadius + 1
                    && abs(127 - margin - box.maxX) <= normalizer.strokeRadius + 1, "\(box)")
            #expect(abs(box.minY - box.minX) <= 1 && abs(box.maxY - box.maxX) <= 1, "\(box)")
        }
    }

    @Test("white strokes on black are the same drawing as black on white")
    func polarity() throws {
        let dark = circle(width: 150, height: 150, cx: 75, cy: 75, r: 50, stroke: 4)
        let light = circle(width: 150, height: 150, cx: 75, cy: 75, r: 50, stroke: 4, ink: 255, background: 0)
        #expect(try normalizer.normalize(sketch: dark) == normalizer.normalize(sketch: light))
    }

    @Test("strokes come out with the canonical width whatever width they were drawn with")
    func strokeWidth() throws {
        for width in [1, 3, 11] {
            let line = canvas(width: 300, height: 300) { x, y in x >= 40 && x <= 260 && abs(y - 150) <= width / 2 }
            let mask = try normalizer.normalize(sketch: line)
            let box = try #require(mask.inkBounds)
            #expect(box.maxY - box.minY + 1 == 2 * normalizer.strokeRadius + 1, "drawn \(width) px: \(box)")
            // A horizontal line is centred vertically.
            #expect(abs((box.minY + box.maxY) / 2 - 63) <= 1)
        }
    }

    @Test("a blank canvas is reported as an empty sketch, specks are ignored")
    func blankAndSpecks() throws {
        #expect(throws: SketchError.self) {
            try normalizer.normalize(sketch: canvas(width: 64, height: 64) { _, _ in false })
        }
        var drawing = circle(width: 300, height: 300, cx: 150, cy: 150, r: 60, stroke: 3)
        let clean = try normalizer.normalize(sketch: drawing)
        for i in [(5 * 300 + 5) * 3, (290 * 300 + 290) * 3] {
            drawing.pixels[i] = 0; drawing.pixels[i + 1] = 0; drawing.pixels[i + 2] = 0
        }
        #expect(try normalizer.normalize(sketch: drawing) == clean)
    }
}

@Suite("edges and morphology")
struct EdgeTests {
    @Test("the edges of a filled square lie on its border and cover it")
    func squareEdges() {
        // Grey square on a darker background, with mild deterministic texture.
        var random = SplitMix64(seed: 7)
        let image = canvas(width: 160, height: 160) { _, _ in false }
        var pixels = image.pixels
        for y in 0..<160 {
            for x in 0..<160 {
                let inside = (40..<120).contains(x) && (50..<130).contains(y)
                let v = (inside ? 180.0 : 70.0) + random.uniform(-6...6)
                for c in 0..<3 { pixels[(y * 160 + x) * 3 + c] = UInt8(v) }
            }
        }
        let edges = EdgeDetector().edges(RGBImage(width: 160, height: 160, pixels: pixels))
        let ink = edges.bits.indices.filter { edges.bits[$0] }.map { ($0 % 160, $0 / 160) }
        #expect(!ink.isEmpty)
        func borderDistance(_ p: (Int, Int)) -> Int {
            let (x, y) = p
            let onVertical = (50...129).contains(y) ? min(abs(x - 40), abs(x - 119)) : 99
            let onHorizontal = (40...119).contains(x) ? min(abs(y - 50), abs(y - 129)) : 99
            return min(onVertical, onHorizontal, max(min(abs(x - 40), abs(x - 119)), min(abs(y - 50), abs(y - 129))))
        }
        let off = ink.filter { borderDistance($0) > 2 }
        #expect(off.isEmpty, "\(off.count) of \(ink.count) edge pixels are off the border: \(off.prefix(5))")
        // Coverage: most border positions have an edge pixel within 2 px.
        let border = (40...119).flatMap { [($0, 50), ($0, 129)] } + (50...129).flatMap { [(40, $0), (119, $0)] }
        let covered = border.filter { b in ink.contains { abs($0.0 - b.0) <= 2 && abs($0.1 - b.1) <= 2 } }
        #expect(Double(covered.count) / Double(border.count) > 0.9, "coverage \(covered.count)/\(border.count)")
        // One pixel wide: no 2×2 block of edge pixels.
        let blocks = ink.filter { edges[$0.0 + 1, $0.1] && edges[$0.0, $0.1 + 1] && edges[$0.0 + 1, $0.1 + 1] }
        #expect(blocks.isEmpty)
    }

    @Test("a flat or noise-only image has no edges")
    func flatImage() {
        var random = SplitMix64(seed: 1)
        let noisy = RGBImage(
            width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { _ in UInt8(120 + random.uniform(-2...2)) })
        #expect(EdgeDetector().edges(noisy).inkCount == 0)
    }

    @Test("thinning reduces a thick bar to a one-pixel line; dilation restores a canonical width")
    func thinAndDilate() {
        var mask = BinaryMask(width: 60, height: 30)
        for y in 10..<19 { for x in 5..<55 { mask[x, y] = true } }
        let skeleton = mask.thinned()
        let rows = Set(skeleton.bits.indices.filter { skeleton.bits[$0] }.map { $0 / 60 })
        #expect(rows.count <= 2, "\(rows)")
        #expect(skeleton.components().count == 1)
        let thick = BinaryMask(width: 60, height: 30, bits: (0..<1800).map { $0 == 15 * 60 + 30 }).dilated(radius: 2)
        #expect(thick.inkBounds.map { ($0.maxX - $0.minX, $0.maxY - $0.minY) } ?? (0, 0) == (4, 4))
    }

    @Test("quarter turns and mirroring are exact permutations")
    func transforms() {
        var random = SplitMix64(seed: 11)
        let mask = BinaryMask(width: 9, height: 5, bits: (0..<45).map { _ in random.next() % 3 == 0 })
        #expect(mask.transformed(quarterTurns: 4, mirrored: false) == mask)
        #expect(
            mask.transformed(quarterTurns: 1, mirrored: false).transformed(quarterTurns: 3, mirrored: false) == mask)
        #expect(mask.transformed(quarterTurns: 0, mirrored: true).transformed(quarterTurns: 0, mirrored: true) == mask)
        let turned = mask.transformed(quarterTurns: 1, mirrored: false)
        #expect(turned.width == 5 && turned.height == 9 && turned.inkCount == mask.inkCount)
        #expect(turned[4, 0] == mask[0, 0])
    }

    @Test("chain tracing visits every skeleton pixel exactly once")
    func chains() {
        let drawing = circle(width: 100, height: 100, cx: 50, cy: 50, r: 30, stroke: 1)
        var mask = SketchNormalizer(canvas: 100).binarize(drawing).thinned()
        mask.drawLine(10, 90, 90, 90)
        let traced = traceChains(mask)
        #expect(traced.reduce(0) { $0 + $1.count } == mask.inkCount)
        #expect(Set(traced.flatMap { $0.map { $0.1 * 100 + $0.0 } }).count == mask.inkCount)
    }
}

@Suite("sketch synthesiser")
struct SynthesizerTests {
    /// A photo-like test image: two rectangles and a disc on a textured background.
    func scene() -> RGBImage {
        var random = SplitMix64(seed: 5)
        return canvas(width: 180, height: 150) { _, _ in false }.mapPixels { x, y in
            if (20..<80).contains(x) && (30..<70).contains(y) { return 200 }
            if (100..<160).contains(x) && (90..<120).contains(y) { return 40 }
            let d = (x - 60) * (x - 60) + (y - 110) * (y - 110)
            return d < 400 ? 230 : UInt8(110 + random.uniform(-5...5))
        }
    }

    @Test("the same seed gives the same sketch; another seed another one")
    func deterministic() {
        let synthesizer = SketchSynthesizer(canvas: 128)
        let image = scene()
        let a = synthesizer.synthesize(from: image, seed: 42)
        let b = synthesizer.synthesize(from: image, seed: 42)
        let c = synthesizer.synthesize(from: image, seed: 43)
        #expect(a == b)
        #expect(a != c)
        #expect(a.width == 128 && a.height == 128)
        // It is a drawing: mostly white, some dark strokes.
        let dark = stride(from: 0, to: a.pixels.count, by: 3).filter { a.pixels[$0] < 128 }.count
        #expect(dark > 50 && dark < 128 * 128 / 3, "\(dark) dark pixels")
    }

    @Test("per-image seeds depend only on the run seed and the key")
    func seeds() {
        #expect(SplitMix64.seed(3, key: "Port/port_1.jpg") == SplitMix64.seed(3, key: "Port/port_1.jpg"))
        #expect(SplitMix64.seed(3, key: "Port/port_1.jpg") != SplitMix64.seed(4, key: "Port/port_1.jpg"))
        #expect(SplitMix64.seed(3, key: "Port/port_1.jpg") != SplitMix64.seed(3, key: "Port/port_2.jpg"))
        var g = SplitMix64(seed: 0)
        // SplitMix64 reference value for seed 0.
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test("a synthesised sketch normalises like a drawing and stays near the photo's edges")
    func followsEdges() throws {
        let synthesizer = SketchSynthesizer(canvas: 128)
        let normalizer = SketchNormalizer(canvas: 128)
        let image = scene()
        let framed = Preprocessing(resolution: 128).resizedAndCropped(image)
        let edges = try normalizer.normalize(synthesizer.detector.edges(framed))
        let sketch = try normalizer.normalize(sketch: synthesizer.synthesize(from: image, seed: 9))
        #expect(meanNearestDistance(sketch, edges) < 8, "\(meanNearestDistance(sketch, edges))")
    }
}

extension RGBImage {
    /// A grey image of the same size whose value at (x, y) is `value(x, y)`.
    func mapPixels(_ value: (Int, Int) -> UInt8) -> RGBImage {
        var pixels = self.pixels
        for y in 0..<height {
            for x in 0..<width {
                let v = value(x, y)
                for c in 0..<3 { pixels[(y * width + x) * 3 + c] = v }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
