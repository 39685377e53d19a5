import Foundation
import SatSeekGeo
import SatSeekTestSupport
import Testing

/// Walking static STAC catalogs: links, hrefs, asset choice, and every fault reported with the walk going on.
@Suite struct StacCatalogTests {
    @Test("catalog → collections → items → GeoTIFF assets, with loops, missing files and bad dates reported")
    func walksACatalog() throws {
        let folder = try temporaryFolder("stac")
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = try makeSTACCatalog(in: folder)
        let scan = StacCatalog.walk(root.path)
        #expect(scan.documents == 8)
        #expect(scan.assets.map(\.itemID).sorted() == ["landsat-2000", "naip-2009", "naip-2020"])
        let naip2009 = try #require(scan.assets.first { $0.itemID == "naip-2009" })
        #expect(naip2009.assetKey == "visual" && naip2009.path.hasSuffix("naip_m_4709963_se_14_1_20090818.tif"))
        #expect(naip2009.datetime == AcquisitionDate.parse("2009-08-18T17:25:00Z"))
        #expect(naip2009.properties["platform"] == "naip" && naip2009.properties["eo:cloud_cover"] == "0")
        #expect(naip2009.bbox?.count == 4)
        let naip2020 = try #require(scan.assets.first { $0.itemID == "naip-2020" })
        #expect(naip2020.path == folder.appendingPathComponent("naip/data/naip-2020.tif").standardizedFileURL.path)
        let landsat = try #require(scan.assets.first { $0.itemID == "landsat-2000" })
        #expect(landsat.assetKey == "data" && landsat.datetime == nil)
        let problems = scan.problems.joined(separator: "\n")
        #expect(problems.contains("a loop"), "\(problems)")
        #expect(problems.contains("naip-missing asset 'visual'") && problems.contains("does not exist"), "\(problems)")
        #expect(problems.contains("metadata-only has no visual/RGB GeoTIFF asset (it has: metadata)"), "\(problems)")
        #expect(problems.contains("datetime 'soon' does not parse"), "\(problems)")
        #expect(scan.problems.count == 4)
    }

    @Test("--asset picks that asset in every item, and says which items lack it")
    func namedAsset() throws {
        let folder = try temporaryFolder("stac-asset")
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = try makeSTACCatalog(in: folder)
        let scan = StacCatalog.walk(root.path, asset: "data")
        #expect(scan.assets.map(\.itemID) == ["landsat-2000"])
        #expect(scan.problems.filter { $0.contains("has no asset 'data'") }.count == 4)
    }

    @Test("a single item, a remote href, and documents that are not STAC")
    func itemsAndBadDocuments() throws {
        let folder = try temporaryFolder("stac-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = try makeSTACCatalog(in: folder)
        let single = StacCatalog.walk(folder.appendingPathComponent("naip/items/naip-2009.json").path)
        #expect(single.assets.map(\.itemID) == ["naip-2009"] && single.problems.isEmpty)
        let remote = folder.appendingPathComponent("remote.json")
        try
            #"{"type": "Feature", "id": "r", "properties": {"datetime": "2021-01-01"}, "assets": {"visual": {"href": "https://example.com/r.tif"}}}"#
            .write(to: remote, atomically: true, encoding: .utf8)
        #expect(StacCatalog.walk(remote.path).assets.first?.path == "/vsicurl/https://example.com/r.tif")
        for (name, text, reason) in [
            ("array.json", "[1, 2]", "not a JSON object"), ("broken.json", "{\"type\": ", "not JSON"),
            ("other.json", #"{"type": "FeatureCollection"}"#, "not a STAC catalog")
        ] {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            let scan = StacCatalog.walk(url.path)
            #expect(scan.assets.isEmpty && scan.problems.count == 1)
            #expect(scan.problems.first?.contains(url.path) == true && scan.problems.first?.contains(reason) == true)
        }
        #expect(
            StacCatalog.walk(folder.appendingPathComponent("none.json").path).problems.first?.contains("no such file")
                == true)
        _ = root
    }
}
