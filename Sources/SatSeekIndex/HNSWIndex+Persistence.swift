import Foundation

extension HNSWIndex {
    enum Section {
        static let ids: UInt32 = 1
        static let vectors: UInt32 = 2
        static let levels: UInt32 = 3
        static let level0: UInt32 = 4
        static let upperOffsets: UInt32 = 5
        static let upper: UInt32 = 6
        static let deleted: UInt32 = 7
        static let parameters: UInt32 = 8
    }

    /// Writes the graph, vectors and tombstones atomically to `path`.
    public func write(
        to path: String, modelID: String = "", sourceRevision: UInt64? = nil,
        sourceIdentity: UUID? = nil
    ) throws {
        let params: [UInt64] = [
            UInt64(parameters.M), UInt64(parameters.efConstruction), UInt64(parameters.efSearch), parameters.seed,
            rngState, UInt64(bitPattern: Int64(entryPoint)), UInt64(bitPattern: Int64(maxLevel)), UInt64(deletedCount),
            UInt64(upper.count)
        ]
        let header = IndexFileHeader(
            kind: .hnsw, metricCode: metric.fileCode, storageCode: storage.fileCode,
            dimensions: dimensions, count: count, modelID: modelID,
            sourceRevision: sourceRevision, sourceIdentity: sourceIdentity)
        let vectors: IndexFileSection =
            storage == .float32
            ? .array(Section.vectors, float32Rows) : .array(Section.vectors, float16Rows)
        try writeIndexFile(
            to: path, header: header,
            sections: [
                .array(Section.parameters, params),
                .array(Section.ids, ids),
                vectors,
                .array(Section.levels, levels),
                .array(Section.level0, level0),
                .array(Section.upperOffsets, upperOffsets),
                .array(Section.upper, upper),
                .array(Section.deleted, deleted.map { $0 ? UInt8(1) : 0 })
            ])
    }

    /// Reads an index written by ``write(to:modelID:)`` (the graph is copied into arrays).
    /// - Throws: ``IndexFileError`` naming the file and the reason.
    public static func open(
        _ path: String, expectedModelID: String? = nil, verifyChecksum: Bool = true
    ) throws -> HNSWIndex {
        let file = try MappedIndexFile(
            path: path, kind: .hnsw, expectedModelID: expectedModelID, verifyChecksum: verifyChecksum)
        let h = file.header
        guard let metric = Metric(fileCode: h.metricCode), let storage = VectorStorage(fileCode: h.storageCode),
            storage != .int8, h.dimensions > 0
        else {
            throw IndexFileError.corrupt(path: path, reason: "unknown metric/storage code or zero dimensions")
        }
        let p = try file.array(Section.parameters, as: UInt64.self, count: 9)
        guard p[0] >= 2, p[0] < 1 << 16 else { throw IndexFileError.corrupt(path: path, reason: "bad M \(p[0])") }
        let parameters = Parameters(
            M: Int(p[0]), efConstruction: p[1].clampedInt, efSearch: p[2].clampedInt, seed: p[3])
        var index = HNSWIndex(dimensions: h.dimensions, metric: metric, storage: storage, parameters: parameters)
        let n = h.count
        // Sizes come from the file: their products must fit before any section is sized with them.
        guard n >= 0, n < Int(UInt32.max), !n.multipliedReportingOverflow(by: h.dimensions).overflow,
            !n.multipliedReportingOverflow(by: index.maxLinks0 + 1).overflow, p[8] < UInt64(Int32.max)
        else {
            throw IndexFileError.corrupt(path: path, reason: "impossible sizes (\(n) vectors of \(h.dimensions))")
        }
        index.rngState = p[4]
        index.entryPoint = Int(Int64(bitPattern: p[5]))
        index.maxLevel = Int(Int64(bitPattern: p[6]))
        index.deletedCount = p[7].clampedInt
        index.ids = try file.array(Section.ids, as: Int64.self, count: n)
        if storage == .float32 {
            index.float32Rows = try file.array(
                Section.vectors, as: Float.self, count: try file.product(n, h.dimensions))
        } else {
            index.float16Rows = try file.array(
                Section.vectors, as: Float16.self, count: try file.product(n, h.dimensions))
        }
        index.levels = try file.array(Section.levels, as: UInt8.self, count: n)
        index.level0 = try file.array(Section.level0, as: UInt32.self, count: try file.product(n, index.maxLinks0 + 1))
        index.upperOffsets = try file.array(Section.upperOffsets, as: Int32.self, count: n)
        index.upper = try file.array(Section.upper, as: UInt32.self, count: Int(p[8]))
        index.deleted = try file.array(Section.deleted, as: UInt8.self, count: n).map { $0 != 0 }
        // Structural checks, so a corrupt file cannot make searches read out of bounds.
        guard index.entryPoint >= -1, index.entryPoint < n, (n == 0) == (index.entryPoint < 0),
            index.deleted.filter({ $0 }).count == index.deletedCount,
            n == 0 || Int(index.levels[index.entryPoint]) == index.maxLevel
        else {
            throw IndexFileError.corrupt(path: path, reason: "inconsistent entry point, top level or tombstone count")
        }
        let m = parameters.M
        for node in 0..<n {
            let level = Int(index.levels[node]), offset = Int(index.upperOffsets[node])
            guard level <= index.maxLevel, (level == 0) == (offset < 0),
                level == 0 || offset + level * (m + 1) <= index.upper.count
            else {
                throw IndexFileError.corrupt(path: path, reason: "node \(node) has bad level/offset")
            }
        }
        let badLink0 = index.level0.withUnsafeBufferPointer { l0 -> Bool in
            for node in 0..<n {
                let base = node * (index.maxLinks0 + 1)
                let c = Int(l0[base])
                if c > index.maxLinks0 { return true }
                for i in 0..<c where Int(l0[base + 1 + i]) >= n { return true }
            }
            return false
        }
        // Every upper-level list holds at most M links, each to a node that exists on that level (a descent
        // reads the target's list at the same level).
        let badUpper = index.upper.withUnsafeBufferPointer { upper -> Bool in
            for node in 0..<n where index.levels[node] > 0 {
                for level in 1...Int(index.levels[node]) {
                    let base = Int(index.upperOffsets[node]) + (level - 1) * (m + 1)
                    let c = Int(upper[base])
                    if c > m { return true }
                    for i in 0..<c {
                        let target = Int(upper[base + 1 + i])
                        if target >= n || Int(index.levels[target]) < level { return true }
                    }
                }
            }
            return false
        }
        guard !badLink0, !badUpper else { throw IndexFileError.corrupt(path: path, reason: "link out of range") }
        for node in 0..<n where !index.deleted[node] { index.nodeByID[index.ids[node]] = node }
        return index
    }
}
