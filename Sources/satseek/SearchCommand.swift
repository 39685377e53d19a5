import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekStore

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract:
            "Find the indexed images most similar to a query: an image, an item, a sentence, a sketch, or examples marked relevant and not.",
        discussion: """
            Composed query: an item or an image file modified by a sentence.
              satseek search --db a.satseek --item 12 --text "with a river" --text-weight 0.75

            Relevance feedback: mark examples and let a learner rank the archive, then "find all" above a score.
              satseek search --db a.satseek --positive 17 --positive 52 --negative 90 -k 20
              satseek search --db a.satseek --collection harbours --threshold 0.8 --bbox=-99.1,46.9,-98.9,47.0 --json
            """)

    @OptionGroup var options: IndexOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var feedback: FeedbackOptions

    @Option(help: "Query image file (any format GDAL reads).")
    var image: String?

    @Option(help: "Query by the id of an indexed item (the item itself is excluded).")
    var item: Int64?

    @Option(
        help:
            "Query by a drawn sketch (dark or light strokes on a plain background); the index must be built with --sketch-adapter FILE (window by window) or --sketchable."
    )
    var sketch: String?

    @Option(
        help:
            "Query by text, e.g. \"harbor with many boats\": CLIP's text tower for a CLIP index, else the sentence encoder against an alignment stored with `index --align`."
    )
    var text: String?

    @Option(
        help: ArgumentHelp(
            "Query by an embedding computed elsewhere: a JSON array of numbers in FILE ('-' reads standard input), as long as the index's vectors.",
            valueName: "file"))
    var vector: String?

    @Option(help: "With --text: which alignment's vectors to search when the index holds several.")
    var align: String?

    @Option(
        help: ArgumentHelp(
            "With --text and --item or --image: a composed query, the image modified by the text; 0 is the image alone, 1 the text alone.",
            valueName: "W"))
    var textWeight: Float = ComposedQuery.defaultTextWeight

    @Option(
        help:
            "Rank with this trained head (index built with `index --head FILE`): Hamming distance of its binary codes.")
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
        let composed = text != nil && (image != nil || item != nil) && sketch == nil && vector == nil
        let single = [image != nil, item != nil, sketch != nil, text != nil, vector != nil].filter { $0 }.count
        guard
            single == 1 || (composed && single == 2 && !feedback.hasExamples)
                || (feedback.hasExamples && single <= 1 && sketch == nil && text == nil && vector == nil)
        else {
            throw ValidationError(
                "give exactly one query: --image FILE, --item ID, --sketch FILE, --text \"…\" or --vector FILE, "
                    + "an image or item with --text (composed), or examples (--positive/--negative/--collection, optionally with --image or --item)"
            )
        }
        guard feedback.threshold == nil || (sketch == nil && text == nil && head == nil && vector == nil) else {
            throw ValidationError("--threshold finds all items for an image, an item or examples")
        }
        guard vector == nil || head == nil else {
            throw ValidationError("--head ranks an image or an item, not a vector")
        }
        guard head == nil || !feedback.hasExamples else {
            throw ValidationError("--head ranks one image or item, not examples")
        }
        guard k > 0 else { throw ValidationError("-k must be positive") }
        guard textWeight.isFinite, (0...1).contains(textWeight) else {
            throw ValidationError("--text-weight must be between 0 and 1")
        }
        guard !composed || (head == nil && feedback.threshold == nil) else {
            throw ValidationError(
                "a composed query (--text with --item or --image) takes neither --head nor --threshold")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.modelSpec, create: false)
            try await storeOptions.withArchive(session) { archive in
                let filter = try feedback.filter(archive)
                let example: QueryExample? = image.map { .imageFile($0) } ?? item.map { .item($0) }
                if feedback.hasExamples || feedback.threshold != nil {
                    let query = try feedback.query(catalog: session.catalog, extraPositives: example.map { [$0] } ?? [])
                    let answer = try await feedback.answer(archive, query, k: k, filter: filter)
                    if !json, feedback.threshold != nil {
                        print(
                            "\(answer.total) items score at least \(feedback.threshold!) (\(answer.scoring)); "
                                + "showing \(answer.results.count) from \(feedback.offset + 1)")
                    }
                    return try json ? printJSON(answer) : printResults(answer.results, json: false, archive: archive)
                }
                let results: [SearchResult]
                if let text, let example {
                    results = try await archive.search(
                        example, modifiedBy: text, textWeight: textWeight, k: k, filter: filter, alignment: align)
                } else if let text {
                    results = try await archive.search(text: text, k: k, filter: filter, alignment: align)
                } else if let sketch {
                    results = try archive.search(sketchAt: sketch, k: k)
                } else if let vector {
                    results = try await archive.search(.vector(try readQueryVector(vector)), k: k, filter: filter)
                } else if let head, let example {
                    results = try archive.search(example, head: head, k: k, rerankDepth: rerank ? rerankDepth : nil)
                } else {
                    results = try await archive.search(example!, k: k, filter: filter)
                }
                try printResults(results, json: json, archive: archive)
            }
        }
    }
}

/// A query vector from a JSON array of numbers in `path` (`-`: standard input), at most 64 MiB of text.
func readQueryVector(_ path: String) throws -> [Float] {
    let limit = 64 << 20
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readData(ofLength: limit + 1)
    } else {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        data = try handle.read(upToCount: limit + 1) ?? Data()
    }
    guard data.count <= limit else { throw SearchError.invalidInput("\(path): a query vector file is at most 64 MiB") }
    do {
        return try JSONDecoder().decode([Float].self, from: data)
    } catch {
        throw SearchError.invalidInput("\(path): not a JSON array of numbers")
    }
}

/// A result with where and when its item lies (chips only), as `search --json` prints it.
struct LocatedResult: Encodable {
    let result: SearchResult
    let whereabouts: ItemWhereabouts?

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        if let whereabouts { try whereabouts.encode(to: encoder) }
    }
}

/// Prints ranked results as a table (chips with their nearest place and date), or as JSON on stdout.
func printResults(_ results: [SearchResult], json: Bool, archive: Archive) throws {
    let whereabouts = try archive.whereabouts(of: results.map(\.id))
    if json { return try printJSON(results.map { LocatedResult(result: $0, whereabouts: whereabouts[$0.id]) }) }
    print("rank  score   " + "id".padded(7) + "class".padded(20) + "path")
    for r in results {
        var line =
            String(format: "%4d  %.4f  ", r.rank, r.score) + String(r.id).padded(7) + r.className.padded(20) + r.path
        if let found = whereabouts[r.id] {
            let place = found.place.map { [$0, found.region ?? "", found.country ?? ""].filter { !$0.isEmpty } }
            let parts = [
                place.map { $0.joined(separator: ", ") + String(format: " (%.0f km)", found.placeDistanceKm ?? 0) },
                found.acquired.map { String($0.prefix(10)) }
            ].compactMap { $0 }
            if !parts.isEmpty { line += "  [" + parts.joined(separator: ", ") + "]" }
        }
        if let box = r.region {
            line += String(format: "  window x %.2f y %.2f w %.2f h %.2f", box.x, box.y, box.width, box.height)
        }
        print(line)
    }
}
