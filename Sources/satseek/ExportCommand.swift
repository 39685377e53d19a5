import ArgumentParser
import Foundation
import SatSeekModels
import SatSeekSearch

/// `satseek export`: a search, a find-all or a collection as GeoJSON or CSV, for QGIS and other GIS tools.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Export a search, a find-all (--threshold) or a collection's ranking as GeoJSON (chip footprints, EPSG:4326) or CSV.",
        discussion: """
              satseek export --db geo.satseek --item 12 -k 50 --format geojson --out similar.geojson
              satseek export --db geo.satseek --collection fields --threshold 0.9 --out fields.geojson
            Items without a footprint (plain images) get a null geometry.
            """)

    @OptionGroup var options: IndexOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var feedback: FeedbackOptions

    @Option(help: "Query image file.")
    var image: String?

    @Option(help: "Query by the id of an indexed item.")
    var item: Int64?

    @Option(name: .short, help: "Number of results (without --threshold).")
    var k: Int = 100

    @Option(help: "geojson or csv.")
    var format: ArchiveExport.Format = .geojson

    @Option(help: "Output file (- for stdout).")
    var out: String = "-"

    func validate() throws {
        guard image != nil || item != nil || feedback.hasExamples else {
            throw ValidationError(
                "give a query: --image FILE, --item ID, or examples (--positive/--negative/--collection)")
        }
        guard image == nil || item == nil else { throw ValidationError("give --image or --item, not both") }
        guard k > 0 else { throw ValidationError("-k must be positive") }
    }

    func run() async throws {
        try await runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.modelSpec, create: false)
            let data = try await storeOptions.withArchive(session) { archive in
                let example: QueryExample? = image.map { .imageFile($0) } ?? item.map { .item($0) }
                let query = try feedback.query(catalog: session.catalog, extraPositives: example.map { [$0] } ?? [])
                let filter = try feedback.filter(archive)
                let answer = try await feedback.answer(archive, query, k: k, filter: filter)
                // The examples' labels (collection labels included: they are the query's item examples).
                return try ArchiveExport.render(
                    ArchiveExport.entries(answer.results, labels: query.itemLabels),
                    catalog: session.catalog, format: format, gazetteer: try ModelStore().gazetteer())
            }
            try emit(data, to: out)
        }
    }
}
