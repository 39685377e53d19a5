import Foundation
import SatSeekCatalog
import SatSeekIndex

/// The vector index files kept beside a catalog — the embedded store's search side:
///
/// - `<catalog>-flat.ssidx`: exact cosine index over every stored embedding (always kept by `satseek index`);
/// - `<catalog>-hnsw.ssidx`: HNSW graph over the same vectors (kept when asked for with `index --hnsw`).
///
/// Files are written atomically (temporary file, fsync, rename, folder fsync) and record the catalog's
/// ``Catalog/embeddingRevision()`` and model id. Searches map a current file instead of reading every
/// embedding out of SQLite; a file from another revision or model, a damaged or missing one is rebuilt from
/// the catalog (the catalog is the source of truth, the files are derived). A kill during indexing therefore
/// leaves either the previous file (stale, so rebuilt on next use) or the new one — never a half-written file.
public enum CatalogIndexFile {
    /// What a refresh or load did with one file.
    public struct Outcome: Sendable, Codable, Equatable {
        /// `current` (valid file of this revision used as is), `written` (built from the catalog and
        /// saved), `updated` (an HNSW file of an earlier revision edited to match: new vectors inserted,
        /// removed ones tombstoned — `reason` gives the counts) or `memory` (built from the catalog, saving
        /// failed — `reason` says why).
        public let action: String
        public let kind: String
        public let path: String
        public let vectors: Int
        public let revision: UInt64
        public let seconds: Double
        /// Why the file was rebuilt (missing, stale, damaged, …) or could not be saved; nil when current.
        public let reason: String?
    }

    /// Where the file of `kind` for the catalog at `catalogPath` lives.
    public static func path(forCatalog catalogPath: String, kind: IndexKind) -> String {
        "\(catalogPath)-\(kind).ssidx"
    }

    /// Why the file at `path` cannot serve `catalog` as it is now, or nil when it can (header only; the
    /// payload checksum is verified when the file is opened).
    static func staleness(
        of path: String, kind: IndexKind, modelID: String, revision: UInt64, identity: UUID
    ) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return "no index file yet" }
        do {
            let header = try IndexFileHeader.read(path: path, kind: kind)
            if header.modelID != modelID { return "built with model '\(header.modelID)'" }
            // Same path, same model, even the same revision number: a file from another catalog is never current.
            guard let fileIdentity = header.sourceIdentity else { return "no catalog identity recorded" }
            if fileIdentity != identity { return "built from another catalog at this path" }
            guard let fileRevision = header.sourceRevision else { return "no catalog revision recorded" }
            if fileRevision != revision {
                return "catalog changed (file revision \(fileRevision), catalog \(revision))"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Brings every index file of the catalog up to date after indexing: the exact file always, the HNSW file
    /// when `hnsw` parameters are given or a graph file already exists (it is then kept current).
    @discardableResult
    public static func refreshAll(
        catalog: Catalog, hnsw: HNSWIndex.Parameters? = nil,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> [Outcome] {
        var outcomes = [try refreshFlat(catalog: catalog)]
        if hnsw != nil || FileManager.default.fileExists(atPath: path(forCatalog: catalog.path, kind: .hnsw)) {
            outcomes.append(try refreshHNSW(catalog: catalog, parameters: hnsw ?? .init(), progress: progress))
        }
        return outcomes
    }

    // MARK: - Exact (flat) file

    /// Writes the exact index file unless it is already current.
    @discardableResult
    public static func refreshFlat(catalog: Catalog) throws -> Outcome {
        try loadFlat(catalog: catalog).outcome
    }

    /// The catalog's exact cosine index: mapped from the file when it is current and passes its checksum,
    /// else built from the catalog's embeddings and saved (best effort: a read-only folder still searches).
    public static func loadFlat(catalog: Catalog) throws -> (index: FlatIndex, outcome: Outcome) {
        try loadOrBuild(
            catalog: catalog, kind: .flat,
            open: { path, modelID in
                let index = try FlatIndex.open(path, expectedModelID: modelID, verifyChecksum: true)
                return (index, index.dimensions, index.metric, index.count)
            },
            build: { stored, dimensions in
                let index = FlatIndex(dimensions: dimensions, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
                return (index, index.count)
            },
            write: { index, path, modelID, revision, identity in
                try index.write(to: path, modelID: modelID, sourceRevision: revision, sourceIdentity: identity)
            })
    }

    /// The shared path of both kinds: use the file when current (and its contents fit the catalog's model),
    /// else build from the catalog's embeddings and try to save the result.
    private static func loadOrBuild<Index>(
        catalog: Catalog, kind: IndexKind,
        open: (_ path: String, _ modelID: String) throws -> (Index, dimensions: Int, metric: Metric, vectors: Int),
        build: (_ stored: (ids: [Int64], vectors: [Float], dimensions: Int, revision: UInt64), _ dimensions: Int)
            -> (Index, vectors: Int),
        write: (Index, _ path: String, _ modelID: String, _ revision: UInt64, _ identity: UUID) throws -> Void
    ) throws -> (index: Index, outcome: Outcome) {
        let started = Date()
        let path = path(forCatalog: catalog.path, kind: kind)
        guard let binding = try catalog.binding() else { throw CatalogError.unbound(path: catalog.path) }
        let revision = try catalog.embeddingRevision()
        let identity = try catalog.identity()
        var reason = staleness(of: path, kind: kind, modelID: binding.modelID, revision: revision, identity: identity)
        if reason == nil {
            do {
                let (index, dimensions, metric, vectors) = try open(path, binding.modelID)
                if dimensions == binding.dimensions, metric == .cosine {
                    // Not stale: the file's recorded revision is the catalog's.
                    return (
                        index,
                        Outcome(
                            action: "current", kind: "\(kind)", path: path, vectors: vectors,
                            revision: revision, seconds: since(started), reason: nil)
                    )
                }
                reason = "holds \(dimensions)-d \(metric) vectors"
            } catch {
                reason = "\(error)"
            }
        }
        let stored = try catalog.embeddingsWithRevision()
        let (index, vectors) = build(stored, binding.dimensions)
        let saved = save { try write(index, path, binding.modelID, stored.revision, identity) }
        return (
            index,
            Outcome(
                action: saved == nil ? "written" : "memory", kind: "\(kind)", path: path,
                vectors: vectors, revision: stored.revision, seconds: since(started),
                reason: saved.map { "\(reason ?? ""); not saved: \($0)" } ?? reason)
        )
    }

    // MARK: - HNSW file

    /// Writes the HNSW file unless it is current. A file of an earlier revision of the same catalog is updated in
    /// place of a rebuild (``HNSWIndex/synchronize(ids:vectors:maximumTombstoneFraction:)``).
    @discardableResult
    public static func refreshHNSW(
        catalog: Catalog, parameters: HNSWIndex.Parameters = .init(),
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> Outcome {
        try loadHNSW(catalog: catalog, parameters: parameters, progress: progress).outcome
    }

    /// The catalog's HNSW index from its file when current; updated from the catalog when the file is an earlier
    /// revision of the same catalog (new vectors inserted into the graph, removed ones tombstoned, a rebuild only
    /// when tombstones pass 20 %); else built (progress: done, total) and saved.
    public static func loadHNSW(
        catalog: Catalog, parameters: HNSWIndex.Parameters = .init(),
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> (index: HNSWIndex, outcome: Outcome) {
        if let updated = try updateHNSW(catalog: catalog, parameters: parameters) { return updated }
        return try loadOrBuild(
            catalog: catalog, kind: .hnsw,
            open: { path, modelID in
                var index = try HNSWIndex.open(path, expectedModelID: modelID, verifyChecksum: true)
                index.parameters.efSearch = parameters.efSearch
                return (index, index.dimensions, index.metric, index.liveCount)
            },
            build: { stored, dimensions in
                var index = HNSWIndex(dimensions: dimensions, metric: .cosine, parameters: parameters)
                // Insert in slices so long builds can report progress.
                let slice = 1_000
                var start = 0
                while start < stored.ids.count {
                    let end = min(start + slice, stored.ids.count)
                    index.add(
                        ids: Array(stored.ids[start..<end]),
                        vectors: Array(stored.vectors[(start * dimensions)..<(end * dimensions)]))
                    start = end
                    progress?(start, stored.ids.count)
                }
                return (index, index.liveCount)
            },
            write: { index, path, modelID, revision, identity in
                try index.write(to: path, modelID: modelID, sourceRevision: revision, sourceIdentity: identity)
            })
    }

    /// Edits an HNSW file that is behind its own catalog (same identity and model, earlier revision) to match it;
    /// nil when there is no such file or it cannot be opened (the caller then builds one).
    private static func updateHNSW(
        catalog: Catalog, parameters: HNSWIndex.Parameters
    ) throws -> (index: HNSWIndex, outcome: Outcome)? {
        let started = Date()
        let path = path(forCatalog: catalog.path, kind: .hnsw)
        guard let binding = try catalog.binding(), FileManager.default.fileExists(atPath: path),
            let header = try? IndexFileHeader.read(path: path, kind: .hnsw),
            header.modelID == binding.modelID, header.sourceIdentity == (try catalog.identity()),
            let fileRevision = header.sourceRevision, fileRevision != (try catalog.embeddingRevision()),
            var index = try? HNSWIndex.open(path, expectedModelID: binding.modelID, verifyChecksum: true),
            index.dimensions == binding.dimensions, index.metric == .cosine
        else { return nil }
        index.parameters.efSearch = parameters.efSearch
        let stored = try catalog.embeddingsWithRevision()
        let sync = index.synchronize(ids: stored.ids, vectors: stored.vectors)
        let detail =
            "revision \(fileRevision) → \(stored.revision): \(sync.added) added, \(sync.changed) changed, "
            + "\(sync.removed) removed" + (sync.rebuilt ? ", rebuilt (tombstones over 20 %)" : " in the existing graph")
        let saved = save {
            try index.write(
                to: path, modelID: binding.modelID, sourceRevision: stored.revision,
                sourceIdentity: try catalog.identity())
        }
        return (
            index,
            Outcome(
                action: saved == nil ? "updated" : "memory", kind: "hnsw", path: path,
                vectors: index.liveCount, revision: stored.revision, seconds: since(started),
                reason: saved.map { "\(detail); not saved: \($0)" } ?? detail)
        )
    }

    /// The catalog's HNSW graph when its file is current and intact, else nil — never builds one (searches
    /// fall back to exact search instead of spending a long build at start-up; `satseek index` rebuilds).
    public static func openCurrentHNSW(catalog: Catalog, efSearch: Int? = nil) -> HNSWIndex? {
        guard (try? hasCurrentHNSW(catalog: catalog)) == true, let binding = try? catalog.binding(),
            var index = try? HNSWIndex.open(
                path(forCatalog: catalog.path, kind: .hnsw),
                expectedModelID: binding.modelID, verifyChecksum: true),
            index.dimensions == binding.dimensions, index.metric == .cosine
        else { return nil }
        if let efSearch { index.parameters.efSearch = efSearch }
        return index
    }

    /// Whether a current HNSW file exists for the catalog (header check only).
    public static func hasCurrentHNSW(catalog: Catalog) throws -> Bool {
        guard let binding = try catalog.binding() else { return false }
        return staleness(
            of: path(forCatalog: catalog.path, kind: .hnsw), kind: .hnsw, modelID: binding.modelID,
            revision: try catalog.embeddingRevision(), identity: try catalog.identity()) == nil
    }

    /// Runs a write, returning its error's description instead of throwing.
    private static func save(_ write: () throws -> Void) -> String? {
        do { try write(); return nil } catch { return "\(error)" }
    }

    private static func since(_ start: Date) -> Double { Date().timeIntervalSince(start) }
}
