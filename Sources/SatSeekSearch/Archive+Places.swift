import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekModels

/// Where and when an item lies: the nearest populated place to its footprint's centre, its acquisition date and
/// the same ground on other dates.
public struct ItemWhereabouts: Sendable, Codable, Equatable {
    /// Centre of the footprint, `[lon, lat]`.
    public var centre: [Double]?
    public var place: String?
    public var region: String?
    public var country: String?
    /// Distance from the centre to ``place``, km.
    public var placeDistanceKm: Double?
    /// Acquisition date (UTC, ISO 8601) and where it was read.
    public var acquired: String?
    public var acquiredSource: String?
    /// The STAC item and its scalar properties.
    public var stacItem: String?
    public var properties: [String: String]?
}

extension ModelStore {
    /// The installed gazetteer (`satseek models install geonames-cities1000`), read once per process; `nil` when
    /// it is not installed.
    public func gazetteer() throws -> Gazetteer? {
        guard let files = gazetteerFiles else { return nil }
        return try GazetteerCache.shared.gazetteer(cities: files.cities, countries: files.countries)
    }
}

/// One gazetteer per file per process (reading the 145 000 places takes a moment; every archive shares them).
final class GazetteerCache: @unchecked Sendable {
    static let shared = GazetteerCache()
    private let lock = NSLock()
    private var loaded: [String: Gazetteer] = [:]

    func gazetteer(cities: URL, countries: URL) throws -> Gazetteer {
        try lock.withLock {
            if let found = loaded[cities.path] { return found }
            let gazetteer = try Gazetteer(cities: cities, countries: countries)
            loaded[cities.path] = gazetteer
            return gazetteer
        }
    }
}

extension Archive {
    /// The installed gazetteer, or an error that says how to install it.
    public func requireGazetteer() throws -> Gazetteer {
        guard let gazetteer = try ModelStore().gazetteer() else {
            throw SearchError.notFound(
                "place names need the offline gazetteer: satseek models install \(ModelStore.gazetteerAssetName)")
        }
        return gazetteer
    }

    /// The box holding everything within `radiusKm` of the place `name` names (`Jamestown, North Dakota`).
    /// - Throws: ``PlaceLookupError`` for an unknown or ambiguous name; a ``SearchError`` without a gazetteer.
    public func box(near name: String, radiusKm: Double) throws -> (place: Place, box: GeoBox) {
        guard radiusKm.isFinite, radiusKm > 0, radiusKm <= 20_000 else {
            throw SearchError.invalidInput("the radius must be between 0 and 20 000 km (got \(radiusKm))")
        }
        let place = try requireGazetteer().place(named: name)
        return (place, Gazetteer.box(around: place, radiusKm: radiusKm))
    }

    /// Where and when each of `ids` lies (items without a chip row get an empty value); places only when the
    /// gazetteer is installed.
    public func whereabouts(of ids: [Int64]) throws -> [Int64: ItemWhereabouts] {
        let chips = try catalog.chips(ids: ids)
        // The gazetteer is read (once per process) only when some item has a footprint to place.
        let gazetteer = chips.values.contains { $0.minLon != nil } ? try ModelStore().gazetteer() : nil
        return chips.mapValues { Self.whereabouts(of: $0, gazetteer: gazetteer) }
    }

    /// Where and when one chip lies.
    public static func whereabouts(of chip: ChipInfo, gazetteer: Gazetteer?) -> ItemWhereabouts {
        var result = ItemWhereabouts()
        if let minLon = chip.minLon, let minLat = chip.minLat, let maxLon = chip.maxLon, let maxLat = chip.maxLat {
            let (lon, lat) = ((minLon + maxLon) / 2, (minLat + maxLat) / 2)
            result.centre = [lon, lat]
            if let nearest = gazetteer?.nearest(longitude: lon, latitude: lat) {
                result.place = nearest.place.name
                result.region = nearest.place.region
                result.country = nearest.place.country
                result.placeDistanceKm = (nearest.distanceKm * 10).rounded() / 10
            }
        }
        result.acquired = chip.acquiredAt.map(AcquisitionDate.isoString)
        result.acquiredSource = chip.acquiredSource
        result.stacItem = chip.stacItem
        result.properties = chip.properties
        return result
    }
}
