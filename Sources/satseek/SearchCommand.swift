import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the indexed images most similar to a query image or an indexed item.")

    @OptionGroup var options: IndexOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Query image file (any format GDAL reads).")
    var image: String?

    @Option(help: "Query by the id of an indexed item (the item itself is excluded).")
    var item: Int64?

    @Option(help: "Query by a drawn sketch (dark or light strokes on a plain background); the index must be built with --sketchable.")
    var sketch: String?

    @Option(help: "Query by text, e.g. \"harbor with many boats\": CLIP's text tower for a CLIP index, else the sentence encoder against an alignment stored with `index --align`.")
    var text: String?

    @Option(help: "With --text: which alignment's vectors to search when the index holds several.")
    var align: String?

    @Option(help: "Rank with this trained head (index built with `index --head FILE`): Hamming distance of its binary codes.")
    var head: String?

    @Flag(help: "With --head: re-rank the --rerank-depth Hamming-nearest by the cosine of the float head outputs.")
    var rerank = false

    @Option(help: "With --rerank: how many Hamming-nearest candidates are re-ranked.")
    var rerankDepth: Int = 100

    @Option(name: .short, help: "Number of results.")
    var k: Int = 10

    @Flag(help: "Print results as JSON on stdout.")
    var json = false

    func validate() throws {
        guard [image != nil, item != nil, sketch != nil, text != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one query: --image FILE, --item ID, --sketch FILE or --text \"…\"")
        }
        guard k > 0 else { throw ValidationError("-k must be positive") }
    }

    func run() throws {
        try runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.model, create: false)
            if storeOptions.store != nil { return try storeOptions.search(session: session, image: image, item: item, k: k, json: json) }
            let results: [SearchResult]
            if let text {
                results = try TextSearcher(session: session, alignment: align).search(text: text, k: k)
            } else if let head {
                guard sketch == nil else { throw ValidationError("--head ranks image or item queries, not --sketch") }
                let headSearcher = try HeadSearcher(session: session, headPath: head)
                let depth = rerank ? rerankDepth : nil
                results = try image.map { try headSearcher.search(imageAt: $0, k: k, rerankDepth: depth) }
                    ?? headSearcher.search(itemID: item!, k: k, rerankDepth: depth)
            } else if let sketch {
                results = try session.sketchSearcher().search(sketchAt: sketch, k: k)
            } else if let image {
                results = try session.searcher(approximate: !storeOptions.exact).search(imageAt: image, k: k)
            } else {
                results = try session.searcher(approximate: !storeOptions.exact).search(itemID: item!, k: k)
            }
            try printResults(results, json: json)
        }
    }
}

/// Prints ranked results as a table, or as JSON on stdout.
func printResults(_ results: [SearchResult], json: Bool) throws {
    if json { return try printJSON(results) }
    print("rank  score   " + "id".padded(7) + "class".padded(20) + "path")
    for r in results {
        print(String(format: "%4d  %.4f  ", r.rank, r.score) + String(r.id).padded(7) + r.className.padded(20) + r.path)
    }
}
