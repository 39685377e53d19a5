import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the indexed images most similar to a query image or an indexed item.")

    @OptionGroup var options: IndexOptions

    @Option(help: "Query image file (any format GDAL reads).")
    var image: String?

    @Option(help: "Query by the id of an indexed item (the item itself is excluded).")
    var item: Int64?

    @Option(name: .short, help: "Number of results.")
    var k: Int = 10

    @Flag(help: "Print results as JSON on stdout.")
    var json = false

    func validate() throws {
        guard (image == nil) != (item == nil) else {
            throw ValidationError("give exactly one query: --image FILE or --item ID")
        }
        guard k > 0 else { throw ValidationError("-k must be positive") }
    }

    func run() throws {
        try runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.model, create: false)
            let searcher = try session.searcher()
            let results: [SearchResult]
            if let image {
                results = try searcher.search(imageAt: image, k: k)
            } else {
                results = try searcher.search(itemID: item!, k: k)
            }
            if json {
                try printJSON(results)
                return
            }
            print("rank  score   " + "id".padded(7) + "class".padded(20) + "path")
            for r in results {
                print(String(format: "%4d  %.4f  ", r.rank, r.score) + String(r.id).padded(7) + r.className.padded(20) + r.path)
            }
        }
    }
}
