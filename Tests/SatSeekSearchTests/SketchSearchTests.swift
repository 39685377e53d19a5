import Foundation
import Testing
import SatSeekImaging
import SatSeekModels
import SatSeekSketch
@testable import SatSeekSearch
@testable import SatSeekEvaluation
import SatSeekRandom

/// Generated "aerial" scenes of three shape classes and hand-drawn-style sketches of each.
enum ShapeScenes {
    static let classes = ["Circles", "Grids", "Lines"]

    /// A textured green background with one class's structure painted on it.
    static func scene(_ shape: String, variant: Int, side: Int = 160) -> RGBImage {
        var random = SplitMix64(seed: SplitMix64.seed(99, key: "\(shape)/\(variant)"))
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        func set(_ x: Int, _ y: Int, _ rgb: (Double, Double, Double)) {
            guard x >= 0, y >= 0, x < side, y < side else { return }
            let i = (y * side + x) * 3
            pixels[i] = UInt8(max(0, min(255, rgb.0))); pixels[i + 1] = UInt8(max(0, min(255, rgb.1)))
            pixels[i + 2] = UInt8(max(0, min(255, rgb.2)))
        }
        for y in 0..<side {
            for x in 0..<side {
                let n = random.uniform(-12...12)
                set(x, y, (80 + n, 105 + n, 65 + n))
            }
        }
        let s = Double(side)
        switch shape {
        case "Circles":  // a centre-pivot field: bright disc with a darker inner ring
            let cx = s * random.uniform(0.4...0.6), cy = s * random.uniform(0.4...0.6),
                r = s * random.uniform(0.3...0.38)
            for y in 0..<side {
                for x in 0..<side {
                    let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
                    if d < r { set(x, y, abs(d - r * 0.55) < 2.5 ? (120, 110, 80) : (190, 175, 130)) }
                }
            }
        case "Lines":  // parallel roads / rows across the tile
            let angle = random.uniform(-0.5...0.5) + (variant % 2 == 0 ? 0 : .pi / 2)
            let spacing = s * random.uniform(0.16...0.22)
            let (c, sn) = (cos(angle), sin(angle))
            for y in 0..<side {
                for x in 0..<side {
                    let u = (Double(x) - s / 2) * sn - (Double(y) - s / 2) * c
                    let m = u.truncatingRemainder(dividingBy: spacing)
                    if abs(m) < 3 || abs(abs(m) - spacing) < 3 { set(x, y, (200, 200, 195)) }
                }
            }
        default:  // "Grids": blocks of buildings separated by streets
            let block = Int(s * random.uniform(0.14...0.18)), street = Int(s * 0.06)
            let offset = Int(random.uniform(0...Double(block)))
            for y in 0..<side {
                for x in 0..<side {
                    let bx = (x + offset) % (block + street), by = (y + offset) % (block + street)
                    if bx < block && by < block {
                        set(x, y, (150, 90, 80))
                    } else if bx >= block || by >= block {
                        set(x, y, (60, 60, 60))
                    }
                }
            }
        }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    /// A wobbly pen drawing of a class's structure, black on white, as a person might draw it.
    static func sketch(_ shape: String, seed: UInt64 = 1, side: Int = 300) -> RGBImage {
        var random = SplitMix64(seed: seed)
        var mask = BinaryMask(width: side, height: side)
        let s = Double(side)
        func stroke(_ points: [(Double, Double)]) {
            var previous: (Double, Double)?
            for p in points {
                let q = (p.0 + random.uniform(-1.5...1.5), p.1 + random.uniform(-1.5...1.5))
                if let previous { mask.drawLine(previous.0, previous.1, q.0, q.1) }
                previous = q
            }
        }
        switch shape {
        case "Circles":
            stroke(
                (0...40).map { i in
                    let t = Double(i) / 40 * 2 * .pi
                    return (s / 2 + s * 0.33 * cos(t), s / 2 + s * 0.31 * sin(t))
                })
        case "Lines":
            for k in 0..<5 {
                let y = s * (0.15 + 0.17 * Double(k))
                stroke((0...10).map { (s * (0.05 + 0.09 * Double($0)), y + s * 0.02 * Double($0) / 10) })
            }
        default:
            for row in 0..<4 {
                for column in 0..<4 {
                    let x = s * (0.08 + 0.22 * Double(column)), y = s * (0.08 + 0.22 * Double(row)), w = s * 0.16
                    stroke([(x, y), (x + w, y), (x + w, y + w), (x, y + w), (x, y)])
                }
            }
        }
        return mask.dilated(radius: 1).rendered()
    }
}

/// Writes an RGB image as an uncompressed 24-bit BMP (which GDAL reads).
func writeBMP(_ image: RGBImage, to url: URL) throws {
    let rowBytes = (image.width * 3 + 3) / 4 * 4
    var data = Data()
    func le32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
    func le16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: [0x42, 0x4D]); le32(54 + rowBytes * image.height); le32(0); le32(54)
    le32(40); le32(image.width); le32(image.height); le16(1); le16(24); le32(0); le32(rowBytes * image.height)
    le32(2835); le32(2835); le32(0); le32(0)
    for y in stride(from: image.height - 1, through: 0, by: -1) {
        var row = [UInt8](repeating: 0, count: rowBytes)
        for x in 0..<image.width {
            let (r, g, b) = image[x, y]
            row[x * 3] = b; row[x * 3 + 1] = g; row[x * 3 + 2] = r
        }
        data.append(contentsOf: row)
    }
    try data.write(to: url)
}

/// Writes `perClass` generated scenes of every shape class into `root/<class>/`.
func writeShapeArchive(into root: URL, perClass: Int) throws {
    for shape in ShapeScenes.classes {
        let folder = root.appendingPathComponent(shape)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for v in 0..<perClass {
            try writeBMP(
                ShapeScenes.scene(shape, variant: v),
                to: folder.appendingPathComponent("\(shape.lowercased())_\(v).bmp"))
        }
    }
}

@Suite("sketch search on generated shapes", .serialized)
struct SketchSearchTests {
    @Test("a hand-drawn circle, lines and grid each find their own shape class first", .enabled(if: weightsInstalled))
    func shapesRankFirst() throws {
        let root = try temporaryFolder("sketch")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try writeShapeArchive(into: data, perClass: 4)
        let session = try SearchSession(
            db: root.appendingPathComponent("s.satseek").path, model: ModelStore.defaultModel, create: true)
        var indexer = try session.indexer()
        indexer.auxiliaries = [try SketchAuxiliary(model: session.model)]
        let report = try indexer.index(data.path)
        #expect(report.added == 12 && report.failures.isEmpty, "\(report.failures)")
        #expect(try session.catalog.embeddings(kind: SketchAuxiliary.kind).ids.count == 12)

        let searcher = try session.sketchSearcher()
        for shape in ShapeScenes.classes {
            let results = try searcher.search(sketch: ShapeScenes.sketch(shape), k: 4)
            #expect(results.first?.className == shape, "\(shape): \(results.map { "\($0.className) \($0.score)" })")
            #expect(zip(results, results.dropFirst()).allSatisfy { $0.score >= $1.score })
        }
        // The same drawing turned by a quarter turn still finds its class (rotation tolerance).
        let turned = SketchNormalizer(canvas: 224).binarize(ShapeScenes.sketch("Lines")).transformed(
            quarterTurns: 1, mirrored: false
        ).rendered()
        #expect(try searcher.search(sketch: turned, k: 1).first?.className == "Lines")
        #expect(throws: SketchError.self) {
            try searcher.search(
                sketch: RGBImage(width: 50, height: 50, pixels: .init(repeating: 255, count: 7500)), k: 3)
        }

        // Evaluation: synthetic queries are deterministic under a seed and beat the random ranking.
        var evaluator = try SketchEvaluator(catalog: session.catalog, model: session.model, k: 3, seed: 3)
        evaluator.rotations = .none
        let first = try evaluator.evaluateSynthetic()
        let again = try evaluator.evaluateSynthetic()
        #expect(first.queries == 12 && first.classes == 3 && first.archiveSize == 12)
        #expect(first.sketch.meanAveragePrecision == again.sketch.meanAveragePrecision)
        #expect(first.random.meanAveragePrecision == again.random.meanAveragePrecision)
        #expect(
            first.sketch.meanAveragePrecision > first.random.meanAveragePrecision + 0.2,
            "\(first.sketch) vs \(first.random)")

        // Real sketches named by class.
        let sketches = root.appendingPathComponent("sketches")
        try FileManager.default.createDirectory(at: sketches, withIntermediateDirectories: true)
        for (shape, name) in [("Circles", "circles_1.bmp"), ("Lines", "Lines-2.bmp"), ("Grids", "GRIDS (3).bmp")] {
            try writeBMP(ShapeScenes.sketch(shape, seed: 5), to: sketches.appendingPathComponent(name))
        }
        try writeBMP(ShapeScenes.sketch("Lines"), to: sketches.appendingPathComponent("harbour_1.bmp"))
        let real = try evaluator.evaluateSketches(in: sketches.path)
        #expect(real.queries == 3 && real.classes == 3)
        #expect(real.skipped.count == 1 && real.skipped[0].contains("harbour_1.bmp"))
        #expect(real.perClass.allSatisfy { $0.sketch.precision > 0 }, "\(real.perClass)")
    }

    @Test("class names are read from sketch file names")
    func classFromFileName() {
        let classes: Set<String> = ["Storage", "StorageTanks", "Port"]
        #expect(SketchEvaluator.classFromFileName("storage-tanks_03", classes: classes) == "StorageTanks")
        #expect(SketchEvaluator.classFromFileName("Storage 2", classes: classes) == "Storage")
        #expect(SketchEvaluator.classFromFileName("port", classes: classes) == "Port")
        #expect(SketchEvaluator.classFromFileName("harbour", classes: classes) == nil)
    }

    @Test("index --sketchable and search --sketch on the command line", .enabled(if: weightsInstalled))
    func commandLine() async throws {
        let root = try temporaryFolder("sketch-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try writeShapeArchive(into: data, perClass: 2)
        let sketch = root.appendingPathComponent("circle.bmp")
        try writeBMP(ShapeScenes.sketch("Circles"), to: sketch)

        let plain = root.appendingPathComponent("plain.satseek").path
        #expect(try await runSatSeek(["index", data.path, "--db", plain]).status == 0)
        let refused = try await runSatSeek(["search", "--db", plain, "--sketch", sketch.path])
        #expect(refused.status != 0 && refused.stderr.contains("--sketchable"), "\(refused.stderr)")

        let db = root.appendingPathComponent("sketch.satseek").path
        let index = try await runSatSeek(["index", data.path, "--db", db, "--sketchable"])
        #expect(index.status == 0, "\(index.stderr)")
        let search = try await runSatSeek(["search", "--db", db, "--sketch", sketch.path, "-k", "2", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        struct Row: Decodable { let rank: Int; let className: String; let score: Float }
        let rows = try JSONDecoder().decode([Row].self, from: Data(search.stdout.utf8))
        #expect(rows.count == 2 && rows[0].className == "Circles", "\(rows)")

        let both = try await runSatSeek(["search", "--db", db, "--sketch", sketch.path, "--item", "1"])
        #expect(both.status != 0 && both.stderr.contains("exactly one query"))
        let help = try await runSatSeek(["eval-sketch", "--help"])
        #expect(help.stdout.contains("--sketches") && help.stdout.contains("--seed"))
    }
}
