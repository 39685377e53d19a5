import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekImaging
import SatSeekModels
import SatSeekSearch
@testable import SatSeekServer
import Testing

/// Place names, acquisition dates and STAC, end to end: `satseek index catalog.json` on a STAC catalog over the
/// shared GeoTIFFs, then the CLI and the HTTP API with `near`, `from`/`to` and the item view.
@Suite(.serialized, .enabled(if: weightsInstalled && gazetteerInstalled))
struct GeographyTests {
    /// The catalog indexed from the STAC fixture once per process (CLI), and a server on it.
    struct Fixture: Sendable {
        let folder: URL
        let db: String
        let server: SatSeekServer
        let catalog: Catalog
    }
    static let fixture = Task { () throws -> Fixture in
        let folder = try temporaryFolder("geography")
        let root = try makeSTACCatalog(in: folder.appendingPathComponent("stac"))
        let db = folder.appendingPathComponent("stac.satseek").path
        let executable = try #require(satseekExecutable()).path
        let run = try await runChild(executable, ["index", root.path, "--db", db, "--json"])
        guard run.status == 0 else { throw SearchError.invalidInput("index failed: \(run.stderr)") }
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: false)
        let server = try SatSeekServer(session: session, configuration: ServerConfiguration(port: 0))
        return Fixture(folder: folder, db: db, server: server, catalog: session.catalog)
    }

    func chips(_ f: Fixture) throws -> [(id: Int64, chip: ChipInfo)] {
        let ids = try f.catalog.allRecords().compactMap(\.id)
        return try f.catalog.chips(ids: ids).map { ($0.key, $0.value) }.sorted { $0.id < $1.id }
    }

    @Test("STAC indexing keeps each item's id, datetime and properties with its chips; faults are warnings")
    func stacIndexing() async throws {
        let f = try await Self.fixture.value
        let all = try chips(f)
        #expect(all.count == 12 + 12 + 3)
        let byItem = Dictionary(grouping: all, by: { $0.chip.stacItem ?? "" })
        #expect(Set(byItem.keys) == ["naip-2009", "naip-2020", "landsat-2000"])
        let naip2009 = try #require(byItem["naip-2009"]?.first?.chip)
        #expect(naip2009.acquiredAt == AcquisitionDate.parse("2009-08-18T17:25:00Z"))
        #expect(naip2009.acquiredSource == "stac" && naip2009.properties?["eo:cloud_cover"] == "0")
        #expect(
            byItem["naip-2020"]?.allSatisfy { $0.chip.acquiredAt == AcquisitionDate.parse("2020-08-31T16:40:00Z") }
                == true)
        // "soon" does not parse and the Landsat file carries no date: undated, said so.
        #expect(byItem["landsat-2000"]?.allSatisfy { $0.chip.acquiredAt == nil } == true)
    }

    @Test("the same STAC catalog indexed again with --date re-dates the chips without re-embedding them")
    func reindexWithDate() async throws {
        let f = try await Self.fixture.value
        let copy = f.folder.appendingPathComponent("redated.satseek").path
        let executable = try #require(satseekExecutable()).path
        let catalogPath = f.folder.appendingPathComponent("stac/catalog.json").path
        let first = try await runChild(executable, ["index", catalogPath, "--db", copy, "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let run = try await runChild(executable, ["index", catalogPath, "--db", copy, "--date", "2021-05-04", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["added"] as? Int == 0 && report["unchanged"] as? Int == 27)
        #expect(report["metadataUpdated"] as? Int == 27)
        let warnings = (report["warnings"] as? [String] ?? []).joined(separator: "\n")
        #expect(warnings.contains("naip-missing") && warnings.contains("a loop") && warnings.contains("'soon'"))
        let catalog = try Catalog(path: copy, create: false)
        let dated = try catalog.chipIDs(
            acquiredFrom: AcquisitionDate.parse("2021-05-04"), to: AcquisitionDate.parse("2021-05-04"))
        #expect(dated.count == 27)
    }

    @Test("an item shows its place, region, country, coordinates and date, and the same ground on the other date")
    func itemView() async throws {
        let f = try await Self.fixture.value
        let all = try chips(f)
        let id = try #require(all.first { $0.chip.stacItem == "naip-2009" }?.id)
        let answer = try await callRoute(f.server, "/api/items/\(id)")
        #expect(answer.status == 200)
        let item = try answer.json()
        #expect(item["place"] as? String == "Jamestown" || (item["placeDistanceKm"] as? Double ?? 99) < 36)
        #expect(item["region"] as? String == "North Dakota" && item["country"] as? String == "United States")
        #expect((item["centre"] as? [Double])?.count == 2)
        #expect(item["acquired"] as? String == "2009-08-18T17:25:00Z" && item["stacItem"] as? String == "naip-2009")
        let others = try #require(item["otherDates"] as? [[String: Any]])
        #expect(others.count == 1 && others.first?["acquired"] as? String == "2020-08-31T16:40:00Z")
        let other = try #require(others.first?["id"] as? Int)
        #expect(all.first { $0.id == Int64(other) }?.chip.stacItem == "naip-2020")
        // A result card's item carries the place too.
        let search = try await callRoute(f.server, "/api/search?item=\(id)&k=5").json()
        let first = try #require((search["results"] as? [[String: Any]])?.first?["item"] as? [String: Any])
        #expect(first["place"] as? String != nil && first["country"] as? String != nil)
    }

    @Test("near and from/to filter the API's results; an ambiguous or unknown place is a 422 that lists candidates")
    func apiFilters() async throws {
        let f = try await Self.fixture.value
        let all = try chips(f)
        let naip = Set(all.filter { $0.chip.stacItem?.hasPrefix("naip") == true }.map(\.id))
        let landsat = Set(all.filter { $0.chip.stacItem == "landsat-2000" }.map(\.id))
        let query = try #require(naip.min())
        func ids(_ parameters: String) async throws -> [Int64] {
            let answer = try await callRoute(f.server, "/api/search?item=\(query)&k=50&" + parameters)
            #expect(answer.status == 200, "\(answer.text)")
            let results = try answer.json()["results"] as? [[String: Any]] ?? []
            return results.compactMap { ($0["item"] as? [String: Any])?["id"] as? Int }.map(Int64.init)
        }
        let nearJamestown = try await ids("near=Jamestown%2C%20North%20Dakota&radius_km=60")
        #expect(!nearJamestown.isEmpty && Set(nearJamestown).isSubset(of: naip))
        let nearPucallpa = try await ids("near=Pucallpa&radius_km=40")
        #expect(Set(nearPucallpa) == landsat)
        #expect(try await ids("near=Jamestown%2C%20North%20Dakota&radius_km=5").isEmpty)
        let in2020 = try await ids("from=2020-01-01&to=2020-12-31")
        #expect(
            in2020.count == 12 && in2020.allSatisfy { id in all.first { $0.id == id }?.chip.stacItem == "naip-2020" })
        #expect(try await ids("to=2009-08-18").count == 11)
        let ambiguous = try await callRoute(f.server, "/api/search?item=\(query)&near=Jamestown")
        #expect(ambiguous.status == 422 && ambiguous.text.contains("Jamestown, North Dakota, United States"))
        let unknown = try await callRoute(f.server, "/api/search?item=\(query)&near=Atlantis%2C%20Nowhere")
        #expect(unknown.status == 422 && unknown.text.contains("no place called"))
        let badDate = try await callRoute(f.server, "/api/search?item=\(query)&from=last%20year")
        #expect(badDate.status == 400 && badDate.text.contains("is not a date"))
    }

    @Test("the CLI filters by place and date the same way, and prints where and when each chip is")
    func commandLine() async throws {
        let f = try await Self.fixture.value
        let all = try chips(f)
        let query = try #require(all.first { $0.chip.stacItem == "naip-2009" }?.id)
        let executable = try #require(satseekExecutable()).path
        let run = try await runChild(
            executable,
            [
                "search", "--db", f.db, "--item", String(query), "-k", "50", "--near", "Jamestown, North Dakota",
                "--radius-km", "60", "--from", "2020-01-01", "--json"
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(results.count == 12)
        #expect(results.allSatisfy { ($0["acquired"] as? String)?.hasPrefix("2020-08-31") == true })
        #expect(results.allSatisfy { $0["region"] as? String == "North Dakota" })
        let ambiguous = try await runChild(
            executable, ["search", "--db", f.db, "--item", String(query), "--near", "Jamestown"])
        #expect(ambiguous.status != 0 && ambiguous.stderr.contains("Jamestown, North Dakota, United States"))
        let export = try await runChild(
            executable,
            [
                "export", "--db", f.db, "--positive", String(query), "--format", "csv", "--near",
                "Jamestown, North Dakota", "--radius-km", "60", "-k", "3"
            ])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.first?.hasSuffix("place,region,country,place_km,acquired") == true)
        #expect(lines.dropFirst().allSatisfy { $0.contains("North Dakota,United States") }, "\(export.stdout)")
    }
}

/// Scenes served as a Web Mercator tile pyramid.
@Suite struct MapTileTests {
    /// The tile of zoom `z` holding (lon, lat).
    static func tile(z: Int, lon: Double, lat: Double) -> (x: Int, y: Int) {
        let n = Double(1 << z)
        let y = (1 - asinh(tan(lat * .pi / 180)) / .pi) / 2 * n
        return (Int((lon + 180) / 360 * n), Int(y))
    }

    @Test(
        "a tile over the NAIP scene is imagery, one elsewhere is transparent, and bad tiles are refused",
        .enabled(if: weightsInstalled))
    func tilesOfTheScenes() async throws {
        let f = try await ServerFixture.shared()
        for z in [12, 15, 18] {
            let (x, y) = Self.tile(z: z, lon: -99.155, lat: 47.02)
            let answer = try await f.call("/api/tiles/\(z)/\(x)/\(y).png")
            #expect(answer.status == 200 && answer.contentType == "image/png")
            let decoded = try ImageDecoder.decode(data: answer.body, name: "tile")
            #expect(decoded.width == 256 && decoded.height == 256)
            // Imagery, not a flat fill: the tile's pixels vary.
            #expect(Set(decoded.pixels).count > 20, "zoom \(z)")
        }
        let empty = try await f.call("/api/tiles/12/100/100.png")
        #expect(empty.status == 200 && empty.body.count < 1000)
        for (path, status) in [
            ("/api/tiles/23/0/0.png", 404), ("/api/tiles/2/4/0.png", 404), ("/api/tiles/a/0/0.png", 400)
        ] {
            #expect(try await f.call(path).status == status, "\(path)")
        }
    }
}

/// Street addresses from a Nominatim server the user names (`serve --geocoder URL`), against a local stub.
@Suite(.enabled(if: weightsInstalled)) struct GeocoderTests {
    /// A stub Nominatim on 127.0.0.1 answering `GET /reverse` with `status` and `body`, from a thread of its own (see
    /// ``ThreadedHTTPStub``: a stub on this process's cooperative threads missed the client's 10 s timeout when
    /// other suites held them).
    static func stub(status: Int, body: String) throws -> ThreadedHTTPStub {
        try ThreadedHTTPStub { _ in .init(status: status, body: Data(body.utf8)) }
    }

    @Test("the item view carries the stub's address for the chip's centre, and says why when the server fails")
    func addressesFromAStubServer() async throws {
        let f = try await ServerFixture.shared()
        let id = try #require(try f.naipChipIDs().first)
        let answer = #"""
            {"display_name": "County Road 43, Stutsman County, North Dakota, 58401, United States",
             "address": {"road": "County Road 43", "county": "Stutsman County", "state": "North Dakota",
                         "postcode": "58401", "country": "United States"}}
            """#
        let good = try Self.stub(status: 200, body: answer)
        defer { good.stop() }
        var configuration = ServerConfiguration(port: 0)
        configuration.geocoder = good.url
        let server = try SatSeekServer(session: f.session, configuration: configuration)
        let item = try await callRoute(server, "/api/items/\(id)").json()
        let address = try #require(item["address"] as? [String: Any])
        #expect(address["road"] as? String == "County Road 43" && address["state"] as? String == "North Dakota")
        #expect((address["displayName"] as? String)?.hasPrefix("County Road 43") == true)
        let query = try #require(good.targets.first)
        let centre = try #require(item["centre"] as? [Double])
        #expect(
            query.contains(String(format: "lat=%.6f", centre[1]))
                && query.contains(String(format: "lon=%.6f", centre[0])))
        #expect(query.contains("format=jsonv2"))
        // Asked again: answered from memory, no second request.
        _ = try await callRoute(server, "/api/items/\(id)")
        #expect(good.targets.count == 1)

        let failing = try Self.stub(status: 500, body: "{}")
        defer { failing.stop() }
        configuration.geocoder = failing.url
        let other = try SatSeekServer(session: f.session, configuration: configuration)
        let degraded = try await callRoute(other, "/api/items/\(id)")
        #expect(degraded.status == 200)
        let json = try degraded.json()
        #expect(json["address"] == nil && (json["addressError"] as? String)?.contains("HTTP 500") == true)
        #expect(json["place"] != nil, "the offline place is there whatever the geocoder does")
    }
}
