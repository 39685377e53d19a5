import ArgumentParser
import Foundation
import SatSeekCatalog
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

    var hasExamples: Bool { !positives.isEmpty || !negatives.isEmpty || collection != nil }

    func validate() throws {
        guard offset >= 0, limit > 0 else { throw ValidationError("--offset must be ≥ 0 and --limit positive") }
        if let threshold, !threshold.isFinite { throw ValidationError("--threshold must be a number") }
        if let bbox { _ = try parsedBox(bbox) }
    }

    func parsedBox(_ text: String) throws -> GeoBox {
        do { return try GeoBox.parse(text) } catch { throw ValidationError("--bbox: \(error)") }
    }

    /// The filter of `--bbox`.
    func filter() throws -> SearchFilter { SearchFilter(boundingBox: try bbox.map(parsedBox)) }

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
