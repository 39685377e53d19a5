import Foundation

/// One raster asset of a STAC item, ready for tiling.
public struct StacAsset: Sendable, Equatable {
    /// What GDAL opens: a local path, or `/vsicurl/URL` for an `http(s)` href.
    public let path: String
    /// The item's id and the asset's key in it.
    public let itemID: String
    public let assetKey: String
    /// The item's `datetime` (or `start_datetime`), when it parses.
    public let datetime: Date?
    /// The item's bbox (`[minLon, minLat, maxLon, maxLat]`), when given.
    public let bbox: [Double]?
    /// The item's scalar properties other than its dates (`eo:cloud_cover`, `platform`, …) as text.
    public let properties: [String: String]
}

/// What a walk over a STAC catalog found: the assets to tile, and what was wrong on the way (each message names
/// the document); a problem never stops the walk.
public struct StacScan: Sendable {
    public var assets: [StacAsset] = []
    public var problems: [String] = []
    /// Catalogs, collections and items read.
    public var documents = 0
}

/// A static STAC catalog on disk (STAC 1.x: `Catalog`, `Collection` and `Feature` item documents linked with
/// `child` and `item` links; hrefs relative to the linking document, absolute paths or `file://` URLs).
///
/// `walk` follows links depth first from a catalog, a collection or a single item, reads every item once, and
/// picks one raster asset per item: `asset` when named, else the `visual` asset, else one whose roles include
/// `visual`, else `rgb`/`image`/`data`, else the first GeoTIFF. Remote catalog links (`http(s)`) are not followed
/// (SatSeek reads static catalogs from disk); remote asset hrefs become GDAL `/vsicurl/` paths, which work when
/// the network allows.
public enum StacCatalog {
    /// The largest STAC document read (bytes).
    public static let maximumDocumentBytes = 16 << 20
    /// The most documents one walk reads.
    public static let maximumDocuments = 200_000
    /// The deepest chain of links followed.
    public static let maximumDepth = 64

    /// Walks the catalog, collection or item at `path`.
    public static func walk(_ path: String, asset: String? = nil) -> StacScan {
        var scan = StacScan()
        var visited = Set<String>()
        visit(
            URL(fileURLWithPath: path).standardizedFileURL, from: nil, depth: 0, asset: asset, scan: &scan,
            visited: &visited)
        return scan
    }

    private static func visit(
        _ url: URL, from parent: String?, depth: Int, asset: String?, scan: inout StacScan,
        visited: inout Set<String>
    ) {
        let key = url.resolvingSymlinksInPath().path
        guard visited.insert(key).inserted else {
            scan.problems.append(
                "\(parent ?? url.path): links back to \(url.path), already read (a loop); not followed again")
            return
        }
        guard depth <= maximumDepth else {
            scan.problems.append("\(url.path): more than \(maximumDepth) links deep; not followed")
            return
        }
        guard scan.documents < maximumDocuments else {
            if scan.documents == maximumDocuments {
                scan.problems.append("more than \(maximumDocuments) STAC documents; the rest is not read")
                scan.documents += 1
            }
            return
        }
        let document: [String: Any]
        do {
            document = try read(url)
        } catch {
            scan.problems.append("\(url.path): \(error)" + (parent.map { " (linked from \($0))" } ?? ""))
            return
        }
        scan.documents += 1
        let type = document["type"] as? String
        if type == "Feature" {
            item(document, at: url, asset: asset, scan: &scan)
            return
        }
        guard type == "Catalog" || type == "Collection" || document["links"] != nil else {
            scan.problems.append("\(url.path): not a STAC catalog, collection or item (type \(type ?? "missing"))")
            return
        }
        for link in document["links"] as? [[String: Any]] ?? [] {
            guard let rel = link["rel"] as? String, rel == "child" || rel == "item" else { continue }
            guard let href = link["href"] as? String, !href.isEmpty else {
                scan.problems.append("\(url.path): a '\(rel)' link without an href")
                continue
            }
            guard let target = resolve(href, relativeTo: url) else {
                scan.problems.append(
                    "\(url.path): '\(rel)' link \(href) is remote; SatSeek reads static catalogs from disk")
                continue
            }
            visit(target, from: url.path, depth: depth + 1, asset: asset, scan: &scan, visited: &visited)
        }
    }

    private static func item(_ document: [String: Any], at url: URL, asset named: String?, scan: inout StacScan) {
        let id = document["id"] as? String ?? url.deletingPathExtension().lastPathComponent
        let assets = document["assets"] as? [String: [String: Any]] ?? [:]
        guard let (key, asset) = choose(assets, named: named) else {
            let have = assets.keys.sorted().joined(separator: ", ")
            scan.problems.append(
                "\(url.path): item \(id) has "
                    + (named.map { "no asset '\($0)'" } ?? "no visual/RGB GeoTIFF asset")
                    + (have.isEmpty ? " (it has no assets)" : " (it has: \(have))") + "; skipped")
            return
        }
        guard let href = asset["href"] as? String, !href.isEmpty else {
            scan.problems.append("\(url.path): item \(id) asset '\(key)' has no href; skipped")
            return
        }
        let path: String
        if let local = resolve(href, relativeTo: url) {
            guard FileManager.default.fileExists(atPath: local.path) else {
                scan.problems.append("\(url.path): item \(id) asset '\(key)' → \(local.path) does not exist; skipped")
                return
            }
            path = local.path
        } else {
            path = "/vsicurl/" + href
        }
        let properties = document["properties"] as? [String: Any] ?? [:]
        var datetime: Date?
        for field in ["datetime", "start_datetime"] {
            guard let text = properties[field] as? String else { continue }
            if let date = AcquisitionDate.parse(text) {
                datetime = date
                break
            }
            scan.problems.append(
                "\(url.path): item \(id) \(field) '\(text.prefix(40))' does not parse; the date is read from the raster"
            )
        }
        var scalars: [String: String] = [:]
        for (name, value) in properties.sorted(by: { $0.key < $1.key })
        where !["datetime", "start_datetime", "end_datetime"].contains(name) && scalars.count < 32 {
            if let text = scalarText(value) { scalars[String(name.prefix(64))] = String(text.prefix(200)) }
        }
        let bbox = (document["bbox"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }
        scan.assets.append(
            StacAsset(
                path: path, itemID: id, assetKey: key, datetime: datetime, bbox: bbox?.count == 4 ? bbox : nil,
                properties: scalars))
    }

    /// The asset to tile: the named one, else the visual one, else an RGB-looking one, else the first GeoTIFF.
    static func choose(_ assets: [String: [String: Any]], named: String?) -> (String, [String: Any])? {
        if let named { return assets[named].map { (named, $0) } }
        if let visual = assets["visual"] { return ("visual", visual) }
        let sorted = assets.sorted { $0.key < $1.key }
        if let byRole = sorted.first(where: { ($0.value["roles"] as? [String])?.contains("visual") == true }) {
            return byRole
        }
        for key in ["rgb", "image", "data"] { if let asset = assets[key] { return (key, asset) } }
        return sorted.first { _, asset in
            let type = (asset["type"] as? String ?? "").lowercased()
            let href = (asset["href"] as? String ?? "").lowercased()
            return type.contains("image/tiff") || href.hasSuffix(".tif") || href.hasSuffix(".tiff")
        }
    }

    /// A local file an href names (relative to `base`'s folder, absolute, or `file://`), or `nil` for a remote one.
    static func resolve(_ href: String, relativeTo base: URL) -> URL? {
        if href.hasPrefix("http://") || href.hasPrefix("https://") || href.hasPrefix("s3://") { return nil }
        if href.hasPrefix("file://") { return URL(string: href).map { $0.standardizedFileURL } }
        if href.hasPrefix("/") { return URL(fileURLWithPath: href).standardizedFileURL }
        return URL(fileURLWithPath: href, relativeTo: base.deletingLastPathComponent()).standardizedFileURL
    }

    static func read(_ url: URL) throws -> [String: Any] {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else { throw StacError("no such file") }
        guard size <= maximumDocumentBytes else {
            throw StacError("\(size) bytes is more than a STAC document may be (\(maximumDocumentBytes))")
        }
        let data = try Data(contentsOf: url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw StacError("not JSON (\(error.localizedDescription))")
        }
        guard let document = object as? [String: Any] else { throw StacError("not a JSON object") }
        return document
    }

    static func scalarText(_ value: Any) -> String? {
        switch value {
        case let text as String: return text
        case let flag as Bool where type(of: value) == Bool.self: return flag ? "true" : "false"
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}

/// Why one STAC document could not be read.
struct StacError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
