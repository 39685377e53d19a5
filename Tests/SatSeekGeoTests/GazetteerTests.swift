import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekModels
import SatSeekRandom
import SatSeekTestSupport
import Testing

/// The offline gazetteer: nearest places, names to places, and the files it refuses.
@Suite struct GazetteerTests {
    /// The real GeoNames table, read once per test process.
    static func installed() throws -> Gazetteer { try loaded.get() }
    private static let loaded = Result<Gazetteer, any Error> {
        guard let files = ModelStore().gazetteerFiles else { throw GeoError.invalidOption("no gazetteer installed") }
        return try Gazetteer(cities: files.cities, countries: files.countries)
    }

    @Test("the ring search finds the same nearest place as a scan of every place, poles and antimeridian included")
    func nearestEqualsExhaustiveScan() {
        var random = SplitMix64(seed: 20)
        var places: [Place] = []
        for i in 0..<3000 {
            // Dense in a few clusters, sparse elsewhere, some on the antimeridian and near the poles.
            let lat: Double, lon: Double
            switch i % 4 {
            case 0: (lat, lon) = (random.uniform(-89.9...89.9), random.uniform(-180...180))
            case 1: (lat, lon) = (random.uniform(40...50), random.uniform(-100...(-90)))
            case 2: (lat, lon) = (random.uniform(-20...20), random.uniform(175...180))
            default: (lat, lon) = (random.uniform(80...90), random.uniform(-180...180))
            }
            places.append(
                Place(
                    name: "p\(i)", region: "", district: "", countryCode: "XX", country: "X", latitude: lat,
                    longitude: lon))
        }
        let gazetteer = Gazetteer(places: Array(places.prefix(2999)))
        var queries: [(Double, Double)] = [(0, 180), (0, -180), (89.99, 0), (-89.99, 10), (47, -99), (0, 179.99)]
        for _ in 0..<300 { queries.append((random.uniform(-90...90), random.uniform(-180...180))) }
        for (lat, lon) in queries {
            let found = gazetteer.nearest(longitude: lon, latitude: lat)
            let best = gazetteer.places.map { Gazetteer.distanceKm(lat, lon, $0.latitude, $0.longitude) }.min()
            #expect(found != nil)
            #expect(abs((found?.distanceKm ?? -1) - (best ?? -2)) < 1e-9, "query \(lat), \(lon)")
        }
        #expect(Gazetteer(places: []).nearest(longitude: 0, latitude: 0) == nil)
        #expect(gazetteer.nearest(longitude: .nan, latitude: 0) == nil)
    }

    @Test("a box of radius r around a place holds every point within r of it")
    func boxAroundPlace() {
        let place = Place(
            name: "Jamestown", region: "North Dakota", district: "", countryCode: "US", country: "United States",
            latitude: 46.91054, longitude: -98.70844)
        let box = Gazetteer.box(around: place, radiusKm: 50)
        for bearing in stride(from: 0.0, to: 360, by: 15) {
            // A point 49.9 km away on this bearing (small-distance approximation).
            let dLat = 49.9 / 111.19 * cos(bearing * .pi / 180)
            let dLon = 49.9 / 111.19 * sin(bearing * .pi / 180) / cos(place.latitude * .pi / 180)
            let (lat, lon) = (place.latitude + dLat, place.longitude + dLon)
            #expect(box.minLat <= lat && lat <= box.maxLat && box.minLon <= lon && lon <= box.maxLon)
        }
        let polar = Gazetteer.box(
            around: Place(
                name: "n", region: "", district: "", countryCode: "", country: "", latitude: 89.5, longitude: 0),
            radiusKm: 100)
        #expect(polar.minLon == -180 && polar.maxLon == 180 && polar.maxLat == 90)
    }

    @Test(
        "the shared NAIP scenes lie about 36 km from Jamestown, North Dakota, and the Landsat pair about 14 km from Pucallpa",
        .enabled(if: gazetteerInstalled))
    func sharedScenesArePlaced() throws {
        let gazetteer = try Self.installed()
        #expect(gazetteer.places.count > 140_000)
        for (scene, place, km) in [
            ("naip_m_4709963_se_14_1_20090818.tif", "Jamestown, North Dakota", 36.0),
            ("landsat_2000.tif", "Pucallpa, Peru", 14.0)
        ] {
            let tiler = try SceneTiler(
                path: sharedData.appendingPathComponent("geotiff/\(scene)").path,
                options: SceneTilingOptions(tile: 64))
            let box = try #require(tiler.sceneFootprint).bbox
            let (lon, lat) = ((box.minLon + box.maxLon) / 2, (box.minLat + box.maxLat) / 2)
            let named = try gazetteer.place(named: place)
            let distance = Gazetteer.distanceKm(lat, lon, named.latitude, named.longitude)
            #expect(abs(distance - km) < 4, "\(scene) is \(distance) km from \(named)")
            let nearest = try #require(gazetteer.nearest(longitude: lon, latitude: lat))
            #expect(nearest.distanceKm <= distance + 1e-9)
        }
        let jamestown = try gazetteer.place(named: "jamestown, north dakota")
        #expect(jamestown.country == "United States" && jamestown.region == "North Dakota")
        #expect(abs(jamestown.latitude - 46.91054) < 1e-4)
        #expect(try gazetteer.place(named: "Pucallpa").countryCode == "PE")
    }

    @Test(
        "an ambiguous name lists its candidates; an unknown one suggests close names", .enabled(if: gazetteerInstalled))
    func ambiguousAndUnknownNames() throws {
        let gazetteer = try Self.installed()
        #expect {
            try gazetteer.place(named: "Jamestown")
        } throws: { error in
            guard case .ambiguous(_, let candidates) = error as? PlaceLookupError else { return false }
            return candidates.contains("Jamestown, North Dakota, United States") && candidates.count >= 5
                && "\(error)".contains("add the region or country")
        }
        #expect {
            try gazetteer.place(named: "Jamestwon, North Dakota")
        } throws: { error in
            guard case .unknown(_, let suggestions) = error as? PlaceLookupError else { return false }
            return suggestions.first == "Jamestown, North Dakota, United States"
        }
        #expect(throws: PlaceLookupError.self) { try gazetteer.place(named: "Jamestown, Atlantis") }
        #expect(throws: PlaceLookupError.self) { try gazetteer.place(named: " , ") }
    }

    @Test("a file that is not the gazetteer table is refused with its name and the reason")
    func craftedFilesAreRefused() throws {
        let folder = try temporaryFolder("gazetteer")
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let cases: [(URL, String)] = [
            (try file("header.csv", "a,b,c\n1,2,x,,,US\n"), "header"),
            (try file("fields.csv", "lat,lon,name,admin1,admin2,cc\n46.9,-98.7,Jamestown\n"), "line 2"),
            (try file("range.csv", "lat,lon,name,admin1,admin2,cc\n146.9,-98.7,X,,,US\n"), "line 2"),
            (try file("number.csv", "lat,lon,name,admin1,admin2,cc\nNaNx,-98.7,X,,,US\n"), "line 2")
        ]
        for (url, reason) in cases {
            #expect {
                try Gazetteer(cities: url)
            } throws: { error in
                "\(error)".contains(url.path) && "\(error)".contains(reason)
            }
        }
        // A file larger than any gazetteer is refused before it is read.
        let huge = folder.appendingPathComponent("huge.csv")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(Gazetteer.maximumFileBytes + 1))
        try handle.close()
        #expect { try Gazetteer(cities: huge) } throws: { "\($0)".contains("more than a gazetteer file may be") }
        #expect { try Gazetteer(cities: folder.appendingPathComponent("missing.csv")) } throws: {
            "\($0)".contains("missing.csv")
        }
        let countries = try file("countries.json", "{\"3166-1\": 5}")
        let good = try file("good.csv", "lat,lon,name,admin1,admin2,cc\n46.9,-98.7,\"Jamestown, Town\",ND,,US\n")
        #expect { try Gazetteer(cities: good, countries: countries) } throws: { "\($0)".contains("countries.json") }
        let table = try Gazetteer(cities: good)
        #expect(table.places.first?.name == "Jamestown, Town")
    }
}

/// Acquisition dates in the forms rasters, STAC and file names write them.
@Suite struct AcquisitionDateTests {
    @Test func parsesTheCommonForms() throws {
        let day = try #require(AcquisitionDate.calendarDate(year: 2020, month: 8, day: 31))
        #expect(AcquisitionDate.parse("2020-08-31") == day)
        #expect(AcquisitionDate.parse("2020:08:31 00:00:00") == day)
        #expect(AcquisitionDate.parse("2020-08-31T17:02:11Z") == day.addingTimeInterval(17 * 3600 + 2 * 60 + 11))
        #expect(AcquisitionDate.parse("2020-08-31T17:02:11.500Z") == day.addingTimeInterval(61331.5))
        #expect(AcquisitionDate.parse("2020-08-31T17:02:11+02:00") == day.addingTimeInterval(61331 - 7200))
        #expect(AcquisitionDate.parse("2020-08-31 17:02") == day.addingTimeInterval(61320))
        for bad in ["", "yesterday", "2020-02-30", "2020-13-01", "2020-08-31T25:00:00Z", "2020-08-31Tfoo", "2020/08/31"]
        {
            #expect(AcquisitionDate.parse(bad) == nil, "\(bad)")
        }
        #expect(AcquisitionDate.dayString(day) == "2020-08-31")
        #expect(AcquisitionDate.isoString(day) == "2020-08-31T00:00:00Z")
    }

    @Test func readsADateTokenFromAFileName() throws {
        #expect(
            AcquisitionDate.fromFileName("naip_m_4709963_se_14_1_20090818.tif")
                == AcquisitionDate.calendarDate(year: 2009, month: 8, day: 18))
        #expect(
            AcquisitionDate.fromFileName("S2A_MSIL2A_20230704T101031_N0509.tif")
                == AcquisitionDate.calendarDate(year: 2023, month: 7, day: 4))
        #expect(AcquisitionDate.fromFileName("landsat_2000.tif") == nil)
        #expect(AcquisitionDate.fromFileName("tile_123456789.tif") == nil)
        #expect(AcquisitionDate.fromFileName("x_20201332.tif") == nil)
    }
}
