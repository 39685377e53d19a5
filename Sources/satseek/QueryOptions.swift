import ArgumentParser
import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekLearning
import SatSeekSearch
import SatSeekStore

/// Options of a query of weighted examples (relevance feedback) and of "find all", shared by `search` and
/// `export`.
struct FeedbackOptions: ParsableArguments {
    @Option(
        name: .customLong("positive"),
        help: ArgumentHelp("A relevant example: an indexed item's id or an image file (repeat).", valueName: "ID|PATH"))
    var positives: [String] = []

    @Option(
        name: .customLong("negative"),
        help: ArgumentHelp(
            "A non-relevant example: an indexed item's id or an image file (repeat).", valueName: "ID|PATH"))
    var negatives: [String] = []

    @Option(
        name: .customLong("collection"),
        help:
            "Use the labels of this collection as examples (+1 positive, -1 negative), besides any --positive/--negative."
    )
    var collection: String?

    @Option(
        help:
            "Learner for examples: auto (Rocchio without negatives, logistic regression with them), rocchio or logistic."
    )
    var learner: FeedbackLearner = .auto

    @Flag(help: "Do not centre embeddings on the archive mean before learning.")
    var uncentred = false

    @Option(
        help: ArgumentHelp(
            "Find all: every item scoring at least this (the learner's probability for logistic, else the cosine) instead of the top -k.",
            valueName: "SCORE"))
    var threshold: Float?

    @Option(help: "With --threshold: results to skip (paging).")
    var offset: Int = 0

    @Option(help: "With --threshold: most results to return (paging; the total is always reported).")
    var limit: Int = 1000

    @Option(
        help: ArgumentHelp(
            "Only items whose footprint box intersects this box (EPSG:4326 degrees); write --bbox=… when it starts with a minus sign.",
            valueName: "minLon,minLat,maxLon,maxLat"))
    var bbox: String?

    @Option(
        help:
            "Only items within --radius-km of this place, \"Name[, Region][, Country]\" (offline gazetteer: satseek models install geonames-cities1000)."
    )
    var near: String?

    @Option(help: "With --near: the radius in km.")
    var radiusKm: Double = 25

    @Option(help: ArgumentHelp("Only items acquired on or after this date.", valueName: "YYYY-MM-DD"))
    var from: String?

    @Option(help: ArgumentHelp("Only items acquired on or before this date (the whole day).", valueName: "YYYY-MM-DD"))
    var to: String?

    var hasExamples: Bool { !positives.isEmpty || !negatives.isEmpty || collection != nil }

    func validate() throws {
        guard offset >= 0, limit > 0 else { throw ValidationError("--offset must be ≥ 0 and --limit positive") }
        if let threshold, !threshold.isFinite { throw ValidationError("--threshold must be a number") }
        if let bbox { _ = try parsedBox(bbox) }
        guard radiusKm.isFinite, radiusKm > 0, radiusKm <= 20_000 else {
            throw ValidationError("--radius-km must be between 0 and 20000")
        }
        _ = try dateRange()
    }

    /// The date range of `--from`/`--to` (a day given as `YYYY-MM-DD` for `--to` includes that whole day).
    func dateRange() throws -> DateRange? {
        guard from != nil || to != nil else { return nil }
        func parse(_ text: String, option: String) throws -> Date {
            guard let date = option == "to" ? AcquisitionDate.parseRangeEnd(text) : AcquisitionDate.parse(text) else {
                throw ValidationError("--\(option) '\(text)' is not a date (YYYY-MM-DD or an ISO 8601 date-time)")
            }
            return date
        }
        let start = try from.map { try parse($0, option: "from") }
        let end = try to.map { try parse($0, option: "to") }
        if let start, let end, start > end { throw ValidationError("--from is after --to") }
        return DateRange(from: start, to: end)
    }

    func parsedBox(_ text: String) throws -> GeoBox {
        do { return try GeoBox.parse(text) } catch { throw ValidationError("--bbox: \(error)") }
    }

    /// The filter of `--bbox`, `--near`/`--radius-km` (the box around the place; with `--bbox` too, the part both
    /// share) and `--from`/`--to`.
    func filter(_ archive: Archive) throws -> SearchFilter {
        var filter = SearchFilter(boundingBox: try bbox.map(parsedBox), acquired: try dateRange())
        if let near {
            let (place, around) = try archive.box(near: near, radiusKm: radiusKm)
            printError("near \(place) (\(place.latitude), \(place.longitude)): \(around)")
            filter.restrict(to: around)
        }
        return filter
    }

    /// The feedback query of the examples and the collection; `extra` positives come first (e.g. `--item`).
    func query(catalog: Catalog, extraPositives: [QueryExample] = []) throws -> FeedbackQuery {
        var positives = extraPositives + positives.map(Self.example)
        var negatives = negatives.map(Self.example)
        if let collection {
            for label in try catalog.labels(inCollection: collection) {
                if label.label > 0 {
                    positives.append(.item(label.itemID))
                } else {
                    negatives.append(.item(label.itemID))
                }
            }
        }
        guard !positives.isEmpty else {
            throw ValidationError(
                "give at least one positive example (--positive ID|PATH, --item, --image, or a collection with a +1 label)"
            )
        }
        return FeedbackQuery(positives: positives, negatives: negatives, learner: learner, centred: !uncentred)
    }

    /// The top `k` for `query`, or with `--threshold` the page of every item passing it.
    func answer(_ archive: Archive, _ query: FeedbackQuery, k: Int, filter: SearchFilter) async throws -> ArchiveAnswer
    {
        if let threshold {
            return try await archive.findAll(query, threshold: threshold, filter: filter, offset: offset, limit: limit)
        }
        return try await archive.search(query, k: k, filter: filter)
    }

    /// An item id when the text is a whole number and no such file exists, else an image path.
    static func example(_ text: String) -> QueryExample {
        if let id = Int64(text), !FileManager.default.fileExists(atPath: text) { return .item(id) }
        return .imageFile(text)
    }
}
