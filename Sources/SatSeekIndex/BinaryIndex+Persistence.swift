extension BinaryIndex {
    enum Section {
        static let ids: UInt32 = 1
        static let codes: UInt32 = 2
    }
    static let hammingMetricCode: UInt8 = 3
    static let bitsStorageCode: UInt8 = 3

    /// Writes the ids and codes atomically to `path` (multi-index tables are not
    /// stored; rebuild them after ``open(_:expectedModelID:verifyChecksum:)``).
    public func write(to path: String, modelID: String = "") throws {
        let outcome: Result<Void, any Error> = withView { view in
            Result {
                let header = IndexFileHeader(
                    kind: .binary, metricCode: Self.hammingMetricCode, storageCode: Self.bitsStorageCode,
                    dimensions: bits, count: view.count, modelID: modelID)
                try writeIndexFile(
                    to: path, header: header,
                    sections: [
                        .raw(Section.ids, UnsafeRawBufferPointer(start: view.ids, count: view.count * 8)),
                        .raw(
                            Section.codes, UnsafeRawBufferPointer(start: view.codes, count: view.count * view.words * 8)
                        )
                    ])
            }
        }
        try outcome.get()
    }

    /// Opens a binary index by memory-mapping `path`; searches scan the mapping directly.
    /// - Throws: ``IndexFileError`` naming the file and the reason.
    public static func open(
        _ path: String, expectedModelID: String? = nil, verifyChecksum: Bool = true
    ) throws -> BinaryIndex {
        let file = try MappedIndexFile(
            path: path, kind: .binary, expectedModelID: expectedModelID, verifyChecksum: verifyChecksum)
        let h = file.header
        guard h.metricCode == hammingMetricCode, h.storageCode == bitsStorageCode, h.dimensions > 0, h.dimensions <= 512
        else {
            throw IndexFileError.corrupt(path: path, reason: "not a Hamming index or bad code length \(h.dimensions)")
        }
        var index = BinaryIndex(bits: h.dimensions)
        let ids = try file.section(Section.ids, as: Int64.self, count: h.count)
        let codes = try file.section(
            Section.codes, as: UInt64.self, count: try file.product(h.count, index.wordsPerCode))
        index.mapping = BinaryMapping(file: file, count: h.count, ids: ids, codes: codes)
        return index
    }
}
