import Foundation

extension FlatIndex {
    enum Section {
        static let ids: UInt32 = 1
        static let vectors: UInt32 = 2
        static let scales: UInt32 = 3
        static let norms: UInt32 = 4
    }

    /// Writes the index atomically to `path` (see ``IndexFileHeader`` for the format),
    /// tagged with the embedding model that produced the vectors.
    /// `sourceRevision` records which version of the source data the rows come from (see
    /// ``IndexFileHeader/sourceRevision``).
    public func write(
        to path: String, modelID: String = "", sourceRevision: UInt64? = nil,
        sourceIdentity: UUID? = nil
    ) throws {
        try write(
            to: path, modelID: modelID, sourceRevision: sourceRevision, sourceIdentity: sourceIdentity,
            abandonAfterPayloadBytes: nil)
    }

    func write(
        to path: String, modelID: String, sourceRevision: UInt64? = nil, sourceIdentity: UUID? = nil,
        abandonAfterPayloadBytes: Int?
    ) throws {
        let outcome: Result<Void, any Error> = withView { view in
            Result {
                let n = view.count, d = dimensions
                var sections: [IndexFileSection] = [
                    .raw(Section.ids, UnsafeRawBufferPointer(start: view.ids, count: n * 8)),
                    .raw(
                        Section.vectors,
                        UnsafeRawBufferPointer(start: view.vectors, count: n * d * storage.bytesPerElement))
                ]
                if storage == .int8 {
                    sections.append(.raw(Section.scales, UnsafeRawBufferPointer(start: view.scales, count: n * 4)))
                }
                if metric == .l2 {
                    sections.append(.raw(Section.norms, UnsafeRawBufferPointer(start: view.norms, count: n * 4)))
                }
                let header = IndexFileHeader(
                    kind: .flat, metricCode: metric.fileCode, storageCode: storage.fileCode,
                    dimensions: d, count: n, modelID: modelID, sourceRevision: sourceRevision,
                    sourceIdentity: sourceIdentity)
                try writeIndexFile(
                    to: path, header: header, sections: sections,
                    abandonAfterPayloadBytes: abandonAfterPayloadBytes)
            }
        }
        try outcome.get()
    }

    /// Opens an index written by ``write(to:modelID:)`` by memory-mapping it; searches
    /// read the rows straight from the mapping (nothing is copied until `add`).
    ///
    /// - Parameters:
    ///   - expectedModelID: when given, a file built with another model is refused.
    ///   - verifyChecksum: hash the whole payload before use (default); pass `false`
    ///     to skip reading a huge file up front (header checksum is always verified).
    /// - Throws: ``IndexFileError`` naming the file and the reason.
    public static func open(
        _ path: String, expectedModelID: String? = nil, verifyChecksum: Bool = true
    ) throws -> FlatIndex {
        let file = try MappedIndexFile(
            path: path, kind: .flat, expectedModelID: expectedModelID, verifyChecksum: verifyChecksum)
        let h = file.header
        guard let metric = Metric(fileCode: h.metricCode), let storage = VectorStorage(fileCode: h.storageCode),
            h.dimensions > 0
        else {
            throw IndexFileError.corrupt(path: path, reason: "unknown metric/storage code or zero dimensions")
        }
        let n = h.count
        var index = FlatIndex(dimensions: h.dimensions, metric: metric, storage: storage)
        let ids = try file.section(Section.ids, as: Int64.self, count: n)
        let vectors = try file.section(
            Section.vectors, as: UInt8.self,
            count: try file.product(n, h.dimensions, storage.bytesPerElement))
        let scales = storage == .int8 ? try file.section(Section.scales, as: Float.self, count: n) : nil
        let norms = metric == .l2 ? try file.section(Section.norms, as: Float.self, count: n) : nil
        index.mapping = FlatMapping(
            file: file, count: n, ids: ids, vectors: UnsafeRawPointer(vectors),
            scales: scales, norms: norms)
        return index
    }

    /// The model id stored in an index file's header (cheap: header only, no checksum pass).
    public static func modelID(ofFile path: String, kind: IndexKind = .flat) throws -> String {
        try IndexFileHeader.read(path: path, kind: kind).modelID
    }
}
