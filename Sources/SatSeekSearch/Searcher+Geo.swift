import Foundation
import SatSeekCatalog
import SatSeekGeo

extension Searcher {
    /// The `k` nearest stored vectors to `vector` among the chips whose footprint intersects `box`
    /// (plain images without a footprint never match a box).
    public func search(vector: [Float], k: Int, within box: GeoBox, excluding: Set<Int64> = []) throws -> [SearchResult] {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let allowed = try catalog.chipIDs(intersectingMinLon: box.minLon, minLat: box.minLat,
                                          maxLon: box.maxLon, maxLat: box.maxLat)
        let hits = index.search(vector, k: k, allowed: allowed, excluding: excluding)
        return try SearchResult.ranked(hits, catalog: catalog)
    }

    /// The `k` chips inside `box` most similar to the indexed item `itemID` (the item itself left out).
    public func search(itemID: Int64, k: Int, within box: GeoBox) throws -> [SearchResult] {
        guard let vector = try catalog.embedding(id: itemID) else {
            throw SearchError.notFound("\(catalog.path): no item with id \(itemID) (the index holds \(try catalog.count()) items)")
        }
        return try search(vector: vector, k: k, within: box, excluding: [itemID])
    }
}
