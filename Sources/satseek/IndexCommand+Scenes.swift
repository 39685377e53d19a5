import ArgumentParser
import Foundation
import SatSeekGeo
import SatSeekSearch

extension IndexCommand {
    /// `index SCENE --tile N`: cuts scenes into georeferenced chips (see ``SceneIndexer``).
    func runScenes(session: SearchSession, tile: Int, auxiliaries: [any AuxiliaryEmbedding]) throws {
        let options = SceneTilingOptions(
            tile: tile, stride: stride, bands: try bands.map(SceneTilingOptions.parseBands))
        var indexer = try SceneIndexer(catalog: session.catalog, model: session.model, options: options)
        indexer.batchSize = max(1, batch)
        indexer.auxiliaries = auxiliaries
        indexer.date = date.flatMap(AcquisitionDate.parse)
        indexer.stacAsset = asset
        guard let (report, files) = try indexAndReport(session.catalog, { try indexer.index(folder, progress: $0) })
        else { return }
        print(
            "tiled \(folder) into \(self.options.db) with \(session.model.modelID) (tile \(tile), stride \(options.stride))"
        )
        print(
            String(
                format: "  %d scenes, %d windows: %d added, %d updated, %d unchanged, %d nodata-only skipped  (%.1f s)",
                report.scenes, report.windows, report.added, report.updated, report.unchanged,
                report.nodataSkipped, report.seconds))
        if report.stacDocuments > 0 {
            print("  \(report.stacDocuments) STAC documents read")
        }
        if report.dated > 0 || report.scenes > 0 {
            let sources = report.dateSources.sorted { $0.key < $1.key }.map { "\($0.value) from \($0.key)" }
            print(
                "  \(report.dated) of \(report.scenes) scenes dated"
                    + (sources.isEmpty ? "" : " (\(sources.joined(separator: ", ")))")
                    + (report.metadataUpdated > 0 ? "; \(report.metadataUpdated) chips' dates updated" : ""))
        }
        if report.withoutFootprint > 0 {
            print("  \(report.withoutFootprint) chips come from scenes without georeferencing (no footprint)")
        }
        for warning in report.warnings { print("  warning: \(warning)") }
        for failure in report.failures {
            print("  skipped \(failure.path): \(failure.reason)")
        }
        print("  index now holds \(try session.catalog.count()) items")
        printIndexFiles(files)
    }
}
