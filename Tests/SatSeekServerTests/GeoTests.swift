import Foundation
import Testing
import SatSeekCatalog
import SatSeekGeo
import SatSeekImaging
import SatSeekModels
import SatSeekSearch
import SatSeekStore

/// Scene tiling: windows, footprints in EPSG:4326, encoding.
@Suite struct GeoTilingTests {
    /// NAIP (UTM 14N): every chip footprint lies inside the scene's WGS84 footprint box, and chips tile the
    /// grid without gaps.
    @Test func naipChipFootprintsLieInsideTheScene() throws {
        let tiler = try SceneTiler(path: naipScene, options: SceneTilingOptions(tile: 224))
        #expect(tiler.width == 934 && tiler.height == 724)
        #expect(tiler.isGeoreferenced)
        let scene = try #require(tiler.sceneFootprint)
        // gdalinfo: 99°11'08"W 47°02'12"N … 99°07'27"W 47°00'15"N.
        #expect(abs(scene.bbox.minLon - (-99.1856)) < 0.002 && abs(scene.bbox.maxLat - 47.0366) < 0.002)
        #expect(abs(scene.bbox.maxLon - (-99.1240)) < 0.002 && abs(scene.bbox.minLat - 47.0041) < 0.002)
        let windows = tiler.windows
        #expect(windows.count == 4 * 3)
        for window in windows {
            let chip = try #require(try tiler.chip(window))
            let footprint = try #require(chip.footprint)
            #expect(scene.bbox.contains(footprint.bbox, tolerance: 1e-9), "chip \(window) outside the scene")
            #expect(footprint.ring.count == 9 && footprint.ring.first == footprint.ring.last)
            // A 224 px NAIP chip at 5 m is ≈ 1.12 km: ≈ 0.0148° lon, 0.0101° lat at 47° N.
            #expect(abs((footprint.bbox.maxLon - footprint.bbox.minLon) - 0.0148) < 0.001)
            #expect(abs((footprint.bbox.maxLat - footprint.bbox.minLat) - 0.0101) < 0.001)
            #expect(chip.image.width == 224 && chip.image.height == 224)
        }
    }

    /// Landsat (EPSG:4326): footprints are the geotransform itself; stride < tile overlaps.
    @Test func landsatFootprintsAndStride() throws {
        let tiler = try SceneTiler(
            path: landsatScene, options: SceneTilingOptions(tile: 128, stride: 64, bands: [3, 2, 1]))
        #expect(tiler.windows.count == ((697 - 128) / 64 + 1) * ((377 - 128) / 64 + 1))
        let first = try #require(tiler.footprint(of: PixelWindow(x: 0, y: 0, width: 128, height: 128)))
        #expect(abs(first.bbox.minLon - (-74.7224942)) < 1e-6 && abs(first.bbox.maxLat - (-8.2821076)) < 1e-6)
    }

    /// A plain image (no geotransform, no CRS) tiles into chips with a null footprint.
    @Test func plainImageChipsHaveNoFootprint() throws {
        let folder = sharedData.appendingPathComponent("datasets/aid-mini/Beach")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().first)
        let tiler = try SceneTiler(
            path: folder.appendingPathComponent(file).path, options: SceneTilingOptions(tile: 64))
        #expect(!tiler.isGeoreferenced && tiler.sceneFootprint == nil)
        let chip = try #require(try tiler.chip(tiler.windows[0]))
        #expect(chip.footprint == nil && chip.image.width == 64)
    }

    /// Band selection is validated against the scene.
    @Test func badOptionsAreRejected() throws {
        #expect(throws: GeoError.self) {
            try SceneTiler(path: naipScene, options: SceneTilingOptions(tile: 224, bands: [5, 2, 1]))
        }
        #expect(throws: GeoError.self) { try SceneTiler(path: naipScene, options: SceneTilingOptions(tile: 4096)) }
        #expect(throws: GeoError.self) { try SceneTilingOptions.parseBands("1,2") }
        #expect(try SceneTilingOptions.parseBands("4, 3,2") == [4, 3, 2])
        #expect(throws: GeoError.self) {
            try SceneTiler(path: "/nonexistent.tif", options: SceneTilingOptions(tile: 224))
        }
    }

    /// A 16-bit scene with a nodata half: nodata-only chips are skipped, the rest is stretched to 0…255.
    @Test func sixteenBitSceneIsStretchedAndNodataChipsSkipped() throws {
        let folder = try temporaryFolder("geo16")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("u16.tif").path
        try writeUInt16Scene(path: path, width: 256, height: 128)
        let tiler = try SceneTiler(path: path, options: SceneTilingOptions(tile: 64))
        #expect(tiler.isGeoreferenced)
        var kept = 0, skipped = 0
        var low: UInt8 = 255, high: UInt8 = 0
        for window in tiler.windows {
            if let chip = try tiler.chip(window) {
                kept += 1
                #expect(window.x < 128)
                low = min(low, chip.image.pixels.min()!)
                high = max(high, chip.image.pixels.max()!)
            } else {
                skipped += 1
                #expect(window.x >= 128)
            }
        }
        #expect(kept == 4 && skipped == 4)
        #expect(low <= 5 && high >= 250, "one scene-wide 2–98 % stretch spans 0…255 (got \(low)…\(high))")
    }

    /// A scene whose geotransform puts it at latitude 300: its chips are stored without a footprint, the run says
    /// so, and nothing outside ±180/±90 reaches the catalog (which refuses such a ring itself).
    @Test func impossibleFootprintsAreStoredAsNullWithAWarning() throws {
        let folder = try temporaryFolder("geo-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("lat300.tif").path
        try writeUInt16Scene(path: path, width: 128, height: 128, epsg: 4326, transform: [10, 0.001, 0, 300, 0, -0.001])
        let catalog = try Catalog(path: folder.appendingPathComponent("bad.satseek").path, create: true)
        let indexer = try SceneIndexer(catalog: catalog, model: ChannelMeans(), options: SceneTilingOptions(tile: 64))
        let report = try indexer.index(path)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.added == 2)
        #expect(report.invalidFootprints == 2 && report.withoutFootprint == 0)
        let ids = try catalog.allRecords().compactMap(\.id)
        let chips = try catalog.chips(ids: ids)
        #expect(chips.count == 2, "every chip row is stored with its image row")
        #expect(chips.values.allSatisfy { $0.footprint == nil })
        #expect(report.warnings.count == 1 && report.warnings[0].contains("±180/±90"), "\(report.warnings)")
        // Re-running finds everything current.
        let again = try indexer.index(path)
        #expect(again.unchanged == 2 && again.added == 0 && again.updated == 0)

        let ring = [[10.0, 300.0], [10.1, 300.0], [10.1, 299.9], [10.0, 299.9], [10.0, 300.0]]
        #expect(throws: CatalogError.self) {
            try catalog.setChips([
                (ids[0], ChipInfo(scenePath: path, x: 0, y: 0, width: 64, height: 64, footprint: ring))
            ])
        }
        #expect(try catalog.chips(ids: [ids[0]])[ids[0]]?.footprint == nil, "a refused ring writes nothing")
    }

    /// GeoBox parsing accepts Leaflet's order and rejects junk.
    @Test func boxParsing() throws {
        let box = try GeoBox.parse("-99.2,47.0,-99.1,47.05")
        #expect(box.minLon == -99.2 && box.maxLat == 47.05)
        for bad in ["", "1,2,3", "a,b,c,d", "0,0,200,10", "10,0,0,10", "nan,0,1,1", "1,2,3,4,5"] {
            #expect(throws: GeoBoxError.self, "\(bad)") { try GeoBox.parse(bad) }
        }
    }

    /// PNG and JPEG bytes from the encoder decode back to the same size.
    @Test func encoderRoundTrip() throws {
        let image = RGBImage(width: 20, height: 10, pixels: (0..<600).map { UInt8($0 % 256) })
        let png = try ImageEncoder.encode(image, as: .png)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try ImageDecoder.decode(data: png, name: "x.png") == image)
        let jpeg = try ImageEncoder.encode(image, as: .jpeg)
        #expect(jpeg.starts(with: [0xFF, 0xD8]))
        let rgba = try ImageEncoder.encode(image, as: .png, alpha: Array(repeating: false, count: 200))
        #expect(rgba.count > 0)
    }
}

/// Bbox-filtered search over indexed scene chips (needs the model).
@Suite struct GeoSearchTests {
    @Test(.enabled(if: weightsInstalled)) func bboxFilteredSearchReturnsOnlyIntersectingChips() async throws {
        let fixture = try await ServerFixture.shared()
        let archive = try Archive(session: fixture.session)
        let naip = try fixture.naipChipIDs()
        #expect(naip.count == 12)
        let chips = try fixture.session.catalog.chips(ids: naip)
        #expect(chips.count == 12 && chips.values.allSatisfy { $0.footprint != nil })
        // The western half of the NAIP scene.
        let box = GeoBox(minLon: -99.19, minLat: 47.0, maxLon: -99.16, maxLat: 47.04)
        let results = try await archive.search(.item(naip[0]), k: 100, filter: SearchFilter(boundingBox: box))
        #expect(!results.isEmpty)
        let all = try fixture.session.catalog.chips(ids: results.map(\.id))
        for result in results {
            let chip = try #require(all[result.id], "result \(result.id) is not a chip")
            let bbox = GeoBox(minLon: chip.minLon!, minLat: chip.minLat!, maxLon: chip.maxLon!, maxLat: chip.maxLat!)
            #expect(bbox.intersects(box))
        }
        let expected = chips.filter { id, chip in
            id != naip[0]
                && GeoBox(minLon: chip.minLon!, minLat: chip.minLat!, maxLon: chip.maxLon!, maxLat: chip.maxLat!)
                    .intersects(box)
        }
        #expect(Set(results.map(\.id)) == Set(expected.keys))
        #expect(expected.count < 11, "the box must exclude some chips")
        // A box far away matches nothing; plain images never match a box.
        let far = SearchFilter(boundingBox: GeoBox(minLon: 10, minLat: 10, maxLon: 11, maxLat: 11))
        #expect(try await archive.search(.item(naip[0]), k: 10, filter: far).isEmpty)
    }
}

/// Scene indexing reports progress in chip windows while a scene is being tiled (a large scene shows its rate
/// and ETA), not once per scene.
@Suite struct SceneProgressTests {
    @Test("progress counts windows within one scene, up to the scene's window count", .enabled(if: weightsInstalled))
    func progressInsideAScene() throws {
        let folder = try temporaryFolder("scene-progress")
        defer { try? FileManager.default.removeItem(at: folder) }
        let session = try SearchSession(
            db: folder.appendingPathComponent("p.satseek").path, model: ModelStore.defaultModel, create: true)
        var indexer = try SceneIndexer(
            catalog: session.catalog, model: session.model, options: SceneTilingOptions(tile: 224))
        indexer.batchSize = 4
        var snapshots: [ProgressSnapshot] = []
        let report = try indexer.index(naipScene) { snapshots.append($0) }
        #expect(report.added == 12)
        #expect(snapshots.count == 4, "three batches of four inside the scene, then the scene's end")
        #expect(snapshots.map(\.done) == [4, 8, 12, 12])
        #expect(snapshots.allSatisfy { $0.total == 12 })
    }
}
