import Foundation
import SatSeekModels
import SatSeekCatalog
import SatSeekIndex
import SatSeekStore

/// One ranked search result.
public struct SearchResult: Sendable, Codable, Equatable {
    public let rank: Int
    public let id: Int64
    public let path: String
    public let className: String
    public let score: Float
    /// For a sketch matched window by window: the window of the tile that matched (fractions of the
    /// model's square frame of the tile).
    public var region: RegionBox?

    public init(rank: Int, id: Int64, path: String, className: String, score: Float, region: RegionBox? = nil) {
        self.rank = rank; self.id = id; self.path = path; self.className = className; self.score = score
        self.region = region
    }

    /// Ranked results for index hits (best first), with each item's path and class from the catalog, or from
    /// `elsewhere` (a shared store's records of items other catalogs stored); hits known to neither are dropped.
    public static func ranked(
        _ hits: [SearchHit], catalog: Catalog, firstRank: Int = 1, elsewhere: [Int64: StoreRecord] = [:]
    ) throws -> [SearchResult] {
        ranked(hits, records: try catalog.records(ids: hits.map(\.id)), firstRank: firstRank, elsewhere: elsewhere)
    }

    /// ``ranked(_:catalog:firstRank:elsewhere:)`` with the catalog's records of the hits already read.
    public static func ranked(
        _ hits: [SearchHit], records: [Int64: ImageRecord], firstRank: Int = 1,
        elsewhere: [Int64: StoreRecord] = [:]
    ) -> [SearchResult] {
        hits.enumerated().compactMap { rank, hit in
            if let record = records[hit.id] {
                return SearchResult(
                    rank: rank + firstRank, id: hit.id, path: record.path, className: record.className,
                    score: hit.score)
            }
            return elsewhere[hit.id].map {
                SearchResult(
                    rank: rank + firstRank, id: hit.id, path: $0.path, className: $0.className, score: hit.score)
            }
        }
    }
}
