import Foundation
import Testing
import SatSeekImaging
import SatSeekLearning
import SatSeekModels
import SatSeekRandom
import SatSeekSketch
import SatSeekTestSupport
@testable import SatSeekSearch

/// `scene` with `patch` pasted at (`x`, `y`).
private func pasting(_ patch: RGBImage, into scene: RGBImage, x: Int, y: Int) -> RGBImage {
    var out = scene
    for row in 0..<patch.height where y + row < scene.height {
        for column in 0..<patch.width where x + column < scene.width {
            for c in 0..<3 {
                out.pixels[((y + row) * scene.width + x + column) * 3 + c] =
                    patch.pixels[(row * patch.width + column) * 3 + c]
            }
        }
    }
    return out
}

/// A drawing shrunk to `side` pixels (nearest neighbour).
private func shrunk(_ image: RGBImage, to side: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
        for x in 0..<side {
            let sx = x * image.width / side, sy = y * image.height / side
            for c in 0..<3 { pixels[(y * side + x) * 3 + c] = image.pixels[(sy * image.width + sx) * 3 + c] }
        }
    }
    return RGBImage(width: side, height: side, pixels: pixels)
}

@Suite("sketch search window by window", .serialized)
struct SketchRegionTests {
    @Test("windows cover the frame; pixel boxes stay inside it")
    func windows() {
        let grid = RegionGrid.standard
        #expect(grid.count == 14)
        #expect(grid.boxes[0] == RegionBox(x: 0, y: 0, width: 1, height: 1))
        for box in grid.boxes {
            let p = box.pixels(side: 224)
            #expect(p.x >= 0 && p.y >= 0 && p.x + p.width <= 224 && p.y + p.height <= 224 && p.width >= 100)
        }
        // The 3 × 3 windows reach both edges.
        #expect(grid.boxes[5].x == 0 && abs(grid.boxes[13].x + grid.boxes[13].width - 1) < 1e-9)
    }

    @Test(
        "a drawn shape pasted into one corner of a generated scene is found in that corner's window",
        .enabled(if: weightsInstalled))
    func pastedShapeFoundInItsCorner() throws {
        let network = try #require(try ModelStore().load(ModelStore.defaultModel) as? EfficientNetLite)
        let embedder = SketchEmbedder(network: network)
        let grid = RegionGrid.standard
        let shape = shrunk(ShapeScenes.sketch("Circles"), to: 64)
        // Four fields (textured green); the drawing goes top-left into scene 1 and bottom-right into scene 2.
        var scenes = (0..<4).map { variant in
            var random = SplitMix64(seed: UInt64(variant) + 40)
            return RGBImage(
                width: 160, height: 160,
                pixels: (0..<(160 * 160)).flatMap { _ in
                    let n = random.uniform(-14...14)
                    return [UInt8(80 + n), UInt8(105 + n), UInt8(65 + n)]
                })
        }
        scenes[1] = pasting(shape, into: scenes[1], x: 4, y: 4)
        scenes[2] = pasting(shape, into: scenes[2], x: 160 - 68, y: 160 - 68)
        let codes = embedder.regionDescriptors(ofImages: scenes, grid: grid)
        let query = Array(embedder.regionDescriptors(ofImages: [shape], grid: RegionGrid(boxes: [grid.boxes[0]])))
        let index = SketchRegionIndex(
            ids: [10, 11, 12, 13], vectors: codes, windows: grid.count, dimensions: network.dimensions)
        let hits = index.search(variants: query, k: 4)
        #expect(Set(hits.prefix(2).map(\.id)) == [11, 12], "\(hits)")
        // Inside each of the two scenes, the 2 × 2 window (0.6 of the side) most like the drawing is the one
        // over the corner it was pasted into, and the 3 × 3 window (0.45) of that corner beats the opposite one.
        let dims = network.dimensions
        func score(_ scene: Int, _ window: Int) -> Float {
            (0..<dims).reduce(Float(0)) { $0 + query[$1] * codes[(scene * grid.count + window) * dims + $1] }
        }
        for (scene, corner, opposite, small, smallOpposite) in [(1, 1, 4, 5, 13), (2, 4, 1, 13, 5)] {
            let best = (1...4).max { score(scene, $0) < score(scene, $1) }!
            #expect(best == corner, "scene \(scene): \((1...4).map { score(scene, $0) })")
            #expect(score(scene, small) > score(scene, smallOpposite) && score(scene, corner) > score(scene, opposite))
        }
        // Excluding a tile removes all of its windows.
        #expect(!index.search(variants: query, k: 4, excluding: [11]).contains { $0.id == 11 })
    }

    @Test(
        "an adapter trained on unlabelled scenes indexes window codes; search names the window and refuses a foreign adapter",
        .enabled(if: weightsInstalled))
    func adapterEndToEnd() throws {
        let root = try temporaryFolder("sketch-regions")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try writeShapeArchive(into: data, perClass: 3)
        let session = try SearchSession(
            db: root.appendingPathComponent("r.satseek").path, model: ModelStore.defaultModel, create: true)
        var configuration = SketchAdapterConfiguration()
        configuration.steps = 40
        configuration.dimensions = 32
        let paths = try DatasetScanner.scan(data.path).map(\.path)
        let trained = try SketchAdapterTraining.train(
            paths: paths, model: session.model, limit: 4, seed: 1, style: .edgeTrace, configuration: configuration)
        #expect(trained.adapter.header.images == 4 && trained.adapter.header.pairs > 4 * 7)
        let adapterPath = root.appendingPathComponent("a.satseek-sketch").path
        try SketchAdapterFile.write(trained.adapter, to: adapterPath)

        var indexer = try session.indexer()
        indexer.auxiliaries = [try SketchRegionAuxiliary(model: session.model, adapterPath: adapterPath)]
        let report = try indexer.index(data.path)
        #expect(report.added == 9 && report.failures.isEmpty)
        let stored = try session.catalog.embeddings(kind: trained.adapter.kind)
        #expect(stored.ids.count == 9 && stored.dimensions == 14 * 32)

        let searcher = try session.sketchSearcher()
        #expect(searcher.regions != nil)
        let results = try searcher.search(sketch: ShapeScenes.sketch("Circles"), k: 5)
        #expect(results.count == 5 && results.allSatisfy { $0.region != nil })
        #expect(zip(results, results.dropFirst()).allSatisfy { $0.score >= $1.score })

        // A running archive's sketch search sees items indexed after it started.
        let archive = try Archive(session: session)
        #expect(try archive.sketchSearcher().regions?.index.ids.count == 9)
        let extra = data.appendingPathComponent("Extra")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        try writeBMP(ShapeScenes.scene("Circles", variant: 7), to: extra.appendingPathComponent("late.bmp"))
        #expect(try indexer.index(data.path).added == 1)
        #expect(try archive.sketchSearcher().regions?.index.ids.count == 10)

        // An adapter of another model is refused, naming the file.
        var foreign = trained.adapter
        foreign.header.modelID = "effnet-lite2@other"
        let foreignPath = root.appendingPathComponent("foreign.satseek-sketch").path
        try SketchAdapterFile.write(foreign, to: foreignPath)
        #expect {
            try SketchRegionAuxiliary(model: session.model, adapterPath: foreignPath)
        } throws: { "\($0)".contains(foreignPath) && "\($0)".contains("effnet-lite2@other") }
        // The same adapter put where the catalog's note points: searching refuses it instead of mapping with it.
        try FileManager.default.removeItem(atPath: adapterPath)
        try FileManager.default.copyItem(atPath: foreignPath, toPath: adapterPath)
        #expect {
            try session.sketchSearcher()
        } throws: { "\($0)".contains(adapterPath) && "\($0)".contains("effnet-lite2@other") }
    }
}
