import Foundation
import SatSeekCatalog
import SatSeekGeo
import SatSeekImaging
import SatSeekModels

/// What one scene-tiling `index` run did.
public struct SceneIndexReport: Sendable, Codable {
    /// One scene that could not be tiled.
    public struct Failure: Sendable, Codable {
        public let path: String
        public let reason: String
    }
    /// Scenes tiled.
    public var scenes = 0
    /// Grid windows considered.
    public var windows = 0
    /// Chips embedded and stored for the first time.
    public var added = 0
    /// Chips re-embedded because their scene changed.
    public var updated = 0
    /// Chips skipped because the stored row is current.
    public var unchanged = 0
    /// Windows skipped because every pixel is nodata.
    public var nodataSkipped = 0
    /// Chips whose scene has no georeferencing (stored with a null footprint).
    public var withoutFootprint = 0
    /// Chips whose computed footprint was not finite EPSG:4326 degrees within ±180/±90 (a broken geotransform
    /// or projection): stored with a null footprint, and each scene named in ``warnings``.
    public var invalidFootprints = 0
    /// STAC catalogs, collections and items read (0 when the target was not STAC).
    public var stacDocuments = 0
    /// Chips whose stored row was current but whose date or STAC details changed (rewritten, not re-embedded).
    public var metadataUpdated = 0
    /// Scenes with an acquisition date, and where the dates came from (`stac`, `metadata`, `file-name`, `option`).
    public var dated = 0
    public var dateSources: [String: Int] = [:]
    /// Things the analyst should know that did not stop the run.
    public var warnings: [String] = []
    public var failures: [Failure] = []
    public var seconds = 0.0
}

/// One scene to tile, with what is known about it besides its pixels (from a STAC item, say).
public struct SceneSource: Sendable, Equatable {
    /// A raster GDAL opens: a file, or a `/vsicurl/` URL of a remote Cloud-Optimised GeoTIFF.
    public var path: String
    /// The acquisition date given with the scene (STAC `datetime`); `nil`: read it from the raster or its name.
    public var acquisition: Acquisition?
    /// The STAC item id and its scalar properties.
    public var stacItem: String?
    public var properties: [String: String]?

    public init(
        path: String, acquisition: Acquisition? = nil, stacItem: String? = nil, properties: [String: String]? = nil
    ) {
        self.path = path
        self.acquisition = acquisition
        self.stacItem = stacItem
        self.properties = properties
    }

    /// Whether GDAL reads it through a virtual file system (`/vsicurl/…`) rather than a local file.
    var isVirtual: Bool { path.hasPrefix("/vsi") }
}

/// Indexes georeferenced scenes as chips: each scene is cut into a grid of `tile × tile` windows (GDAL windowed
/// reads, band selection, scene-wide percentile stretch for non-Byte data), nodata-only windows are skipped,
/// and each chip is embedded by the catalog's model and stored as an image row whose path is
/// `<scene path>#chip=x,y,w,h`, with its scene, window and EPSG:4326 footprint in the `chip` table.
public struct SceneIndexer: Sendable {
    public let catalog: Catalog
    public let model: any ImageEmbedder
    public let options: SceneTilingOptions
    public var batchSize = 32
    /// Extra embeddings stored with every chip (as for ``Indexer/auxiliaries``).
    public var auxiliaries: [any AuxiliaryEmbedding] = []
    /// The acquisition date of every scene of the run (`--date`), over any the scenes carry.
    public var date: Date?
    /// The STAC asset to tile in every item (`--asset`); `nil`: the visual/RGB one.
    public var stacAsset: String?

    /// Binds the catalog to `model` (as ``Indexer`` does).
    public init(catalog: Catalog, model: any ImageEmbedder, options: SceneTilingOptions) throws {
        self.catalog = catalog
        self.model = model
        self.options = options
        try catalog.bind(ModelBinding(modelID: model.modelID, dimensions: model.dimensions))
    }

    /// The catalog path of a chip: `<canonical scene path>#chip=x,y,w,h`.
    public static func chipPath(scene: String, window: PixelWindow) -> String {
        Catalog.canonicalPath(scene) + "#chip=\(window)"
    }

    /// Tiles and indexes `target`: one raster file, every `.tif`/`.tiff` file under a folder, or the items of a
    /// STAC catalog, collection or item (a `.json` file; see ``StacCatalog``).
    public func index(_ target: String, progress: (ProgressSnapshot) -> Void = { _ in }) throws -> SceneIndexReport {
        if target.lowercased().hasSuffix(".json") { return try index(stac: target, progress: progress) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else {
            throw SearchError.notFound("\(target): no such file or folder")
        }
        let scenes: [String]
        if isDirectory.boolValue {
            scenes = try DatasetScanner.scan(target).map(\.path)
                .filter { ["tif", "tiff"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        } else {
            scenes = [target]
        }
        return try index(sources: scenes.map { SceneSource(path: $0) }, progress: progress)
    }

    /// Tiles the chosen asset of every item of a STAC catalog, keeping each item's id, datetime and properties with
    /// its chips; what was wrong in the catalog (missing assets, loops, dates that do not parse) is in the
    /// report's warnings and the walk goes on.
    public func index(stac path: String, progress: (ProgressSnapshot) -> Void = { _ in }) throws -> SceneIndexReport {
        let scan = StacCatalog.walk(path, asset: stacAsset)
        guard scan.documents > 0 else {
            throw SearchError.notFound(scan.problems.first ?? "\(path): not a STAC document")
        }
        let sources = scan.assets.map { asset in
            SceneSource(
                path: asset.path, acquisition: asset.datetime.map { Acquisition(date: $0, source: .stac) },
                stacItem: asset.itemID, properties: asset.properties)
        }
        var report = try index(sources: sources, progress: progress)
        report.stacDocuments = scan.documents
        report.warnings = scan.problems + report.warnings
        return report
    }

    /// Tiles and indexes these scenes; a scene that fails is reported and leaves nothing behind, and the run goes on.
    public func index(
        sources: [SceneSource], progress: (ProgressSnapshot) -> Void = { _ in }
    ) throws -> SceneIndexReport {
        var report = SceneIndexReport()
        let start = Date()
        // Progress counts chip windows, so one large scene shows its rate and ETA as it goes.
        var total = sources.reduce(0) { $0 + SceneTiler.windowCount(path: $1.path, options: options) }
        var counted = 0
        // Takes the report as a value: while a scene is being indexed, `report` is that call's inout argument.
        func show(_ report: SceneIndexReport) {
            progress(
                ProgressSnapshot(
                    done: report.windows, total: max(total, report.windows),
                    skipped: report.unchanged + report.nodataSkipped, failed: report.failures.count,
                    elapsed: Date().timeIntervalSince(start)))
        }
        for source in sources {
            let scene = source.path
            var added: [Int64] = []
            let before = report
            counted += SceneTiler.windowCount(path: source.path, options: options)
            do {
                try index(scene: source, report: &report, added: &added, tick: { show($0) })
                report.scenes += 1
            } catch {
                // A scene that cannot be tiled leaves nothing behind: the rows this run added for it go again.
                let removed = (try? catalog.remove(ids: added)) ?? 0
                report = before
                report.failures.append(
                    .init(
                        path: scene,
                        reason: "\(error)"
                            + (removed > 0 ? " (the \(removed) chips stored before the error were removed)" : "")))
                // The windows of a failed scene are not to be done any more.
                total -= max(0, counted - report.windows)
                counted = report.windows
            }
            show(report)
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Tiles one scene into the catalog, one transaction per batch of chips (rows, embeddings and chip rows
    /// together); `added` collects the ids of rows this run created.
    func index(
        scene source: SceneSource, report: inout SceneIndexReport, added: inout [Int64],
        tick: (SceneIndexReport) -> Void = { _ in }
    ) throws {
        let path = Catalog.canonicalPath(source.path)
        var size: Int64 = 0, mtime = 0.0
        let hash: String
        if source.isVirtual {
            // A remote scene is not read whole to hash it: its identity is its URL (and STAC item).
            hash = "url:" + path + (source.stacItem.map { "#" + $0 } ?? "")
        } else {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            hash = try contentHash(ofFileAt: path)
        }
        let tiler = try SceneTiler(path: path, options: options)
        let acquisition = resolveAcquisition(source, tiler: tiler)
        if let acquisition {
            report.dated += 1
            report.dateSources[acquisition.source.rawValue, default: 0] += 1
        }
        let className = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var pending: [PendingChip] = []
        let invalidBefore = report.invalidFootprints
        for window in tiler.windows {
            report.windows += 1
            let chipPath = Self.chipPath(scene: path, window: window)
            let existing = try catalog.record(path: chipPath)
            // Current only when the row, its embedding, its chip row and every auxiliary kind are all there.
            if let existing, let id = existing.id, existing.modelID == model.modelID, existing.contentHash == hash,
                try catalog.hasEmbedding(id: id), let stored = try catalog.chips(ids: [id])[id],
                try hasAllAuxiliaries(id)
            {
                report.unchanged += 1
                if stored.acquiredAt != acquisition?.date || stored.stacItem != source.stacItem
                    || stored.properties != source.properties
                {
                    var chip = stored
                    chip.acquiredAt = acquisition?.date
                    chip.acquiredSource = acquisition?.source.rawValue
                    chip.stacItem = source.stacItem
                    chip.properties = source.properties
                    try catalog.setChips([(id, chip)])
                    report.metadataUpdated += 1
                }
                continue
            }
            guard let chip = try tiler.chip(window) else {
                report.nodataSkipped += 1
                continue
            }
            var ring = chip.footprint?.ring
            if let points = ring, !ChipInfo.isValidFootprint(points) {
                ring = nil
                report.invalidFootprints += 1
            } else if ring == nil {
                report.withoutFootprint += 1
            }
            let record = ImageRecord(
                path: chipPath, className: className, width: window.width, height: window.height,
                byteSize: size, modifiedAt: mtime, contentHash: hash, modelID: model.modelID)
            pending.append(PendingChip(record: record, chip: chip, footprint: ring, isUpdate: existing != nil))
            if pending.count == batchSize {
                added += try store(pending, scene: path, source: source, acquisition: acquisition, report: &report)
                pending.removeAll()
                tick(report)
            }
        }
        added += try store(pending, scene: path, source: source, acquisition: acquisition, report: &report)
        if report.invalidFootprints > invalidBefore {
            report.warnings.append(
                "\(path): \(report.invalidFootprints - invalidBefore) chip footprints are not "
                    + "finite degrees within ±180/±90 (check the scene's georeferencing); stored without a footprint")
        }
    }

    /// The scene's acquisition date: `--date`, else the one its source gives (STAC), else the raster's metadata,
    /// else a `YYYYMMDD` token of its file name.
    func resolveAcquisition(_ source: SceneSource, tiler: SceneTiler) -> Acquisition? {
        if let date { return Acquisition(date: date, source: .option) }
        if let given = source.acquisition { return given }
        if let found = tiler.metadataDate { return Acquisition(date: found, source: .metadata) }
        let name = URL(fileURLWithPath: source.path).lastPathComponent
        return AcquisitionDate.fromFileName(name).map { Acquisition(date: $0, source: .fileName) }
    }

    private func hasAllAuxiliaries(_ id: Int64) throws -> Bool {
        guard !auxiliaries.isEmpty else { return true }
        let have = try catalog.auxiliaryKinds(id: id)
        return auxiliaries.allSatisfy { have.contains($0.kind) }
    }

    /// Embeds a batch of chips (backbone + auxiliaries) and stores rows, embeddings and chip rows in one
    /// transaction; returns the ids of the rows it created.
    /// A chip waiting for its batch: its row, its pixels and its (validated) footprint.
    struct PendingChip {
        let record: ImageRecord
        let chip: SceneChip
        let footprint: [[Double]]?
        let isUpdate: Bool
    }

    private func store(
        _ batch: [PendingChip], scene: String, source: SceneSource, acquisition: Acquisition?,
        report: inout SceneIndexReport
    ) throws -> [Int64] {
        guard !batch.isEmpty else { return [] }
        let images = batch.map(\.chip.image)
        let embeddings = model.embed(images: images)
        let dims = model.dimensions
        var items = batch.enumerated().map { row, entry in
            let w = entry.chip.window
            return CatalogItem(
                record: entry.record, embedding: Array(embeddings[(row * dims)..<((row + 1) * dims)]),
                chip: ChipInfo(
                    scenePath: scene, x: w.x, y: w.y, width: w.width, height: w.height,
                    bands: options.bands, footprint: entry.footprint, acquiredAt: acquisition?.date,
                    acquiredSource: acquisition?.source.rawValue, stacItem: source.stacItem,
                    properties: source.properties))
        }
        for auxiliary in auxiliaries {
            let vectors = try auxiliary.embed(images: images, backbone: embeddings)
            let width = auxiliary.dimensions
            for row in items.indices {
                items[row].auxiliary[auxiliary.kind] = Array(vectors[(row * width)..<((row + 1) * width)])
            }
        }
        let ids = try catalog.upsert(items)
        var added: [Int64] = []
        for (id, entry) in zip(ids, batch) {
            if entry.isUpdate { report.updated += 1 } else { report.added += 1; added.append(id) }
        }
        return added
    }
}
