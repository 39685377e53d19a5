import Foundation
import SatSeekCatalog

/// Backbone embeddings of a labelled class-folder dataset, as stored in a catalog.
public struct LabelledFeatures: Sendable {
    /// Catalog ids, in the order of the rows below.
    public let ids: [Int64]
    /// `class/file` path relative to the dataset folder (stable across machines).
    public let names: [String]
    /// Class (parent folder) of every row.
    public let classNames: [String]
    /// `ids.count × dimensions` backbone embeddings, row-major.
    public let features: [Float]
    /// Length of each feature vector.
    public let dimensions: Int
    /// Model id of the backbone that produced the features.
    public let modelID: String

    /// Number of images.
    public var count: Int { ids.count }

    /// The catalog's embeddings of the images under `folder` (indexed beforehand), ordered by relative path.
    public static func load(catalog: Catalog, folder: String) throws -> LabelledFeatures {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): nothing indexed")
        }
        var prefix = Catalog.canonicalPath(folder)
        if !prefix.hasSuffix("/") { prefix += "/" }
        let stored = try catalog.embeddings()
        let row = Dictionary(uniqueKeysWithValues: stored.ids.enumerated().map { ($1, $0) })
        let records = try catalog.allRecords()
            .filter { $0.path.hasPrefix(prefix) && $0.id.flatMap { row[$0] } != nil }
            .sorted { $0.path < $1.path }
        guard !records.isEmpty else {
            throw SearchError.invalidInput("\(folder): no indexed images under this folder in \(catalog.path)")
        }
        let dims = stored.dimensions
        var features = [Float]()
        features.reserveCapacity(records.count * dims)
        for record in records {
            let r = row[record.id!]!
            features.append(contentsOf: stored.vectors[(r * dims)..<((r + 1) * dims)])
        }
        return LabelledFeatures(
            ids: records.map { $0.id! }, names: records.map { String($0.path.dropFirst(prefix.count)) },
            classNames: records.map(\.className), features: features, dimensions: dims,
            modelID: binding.modelID)
    }

    /// The catalog's embeddings of a collection's labelled items, as two classes: `relevant` (+1) and
    /// `not-relevant` (−1), ordered by path — what `satseek train --collection` trains a head on.
    public static func load(catalog: Catalog, collection: String) throws -> LabelledFeatures {
        guard let binding = try catalog.binding() else {
            throw SearchError.invalidInput("\(catalog.path): nothing indexed")
        }
        let labels = try catalog.labels(inCollection: collection)
        let records = try catalog.records(ids: labels.map(\.itemID))
        var rows: [(record: ImageRecord, label: Int, vector: [Float])] = []
        for label in labels {
            guard let record = records[label.itemID], let vector = try catalog.embedding(id: label.itemID) else {
                continue
            }
            rows.append((record, label.label, vector))
        }
        rows.sort { $0.record.path < $1.record.path }
        let classes = Set(rows.map(\.label))
        guard classes.count == 2 else {
            throw SearchError.invalidInput(
                "collection '\(collection)' in \(catalog.path) needs items labelled +1 and -1 "
                    + "to train on (it has \(rows.filter { $0.label > 0 }.count) positive, "
                    + "\(rows.filter { $0.label < 0 }.count) negative)")
        }
        return LabelledFeatures(
            ids: rows.map { $0.record.id! }, names: rows.map(\.record.path),
            classNames: rows.map { $0.label > 0 ? "relevant" : "not-relevant" },
            features: rows.flatMap(\.vector), dimensions: binding.dimensions, modelID: binding.modelID)
    }

    /// Class names as dense integer labels (classes numbered in sorted order).
    public var labels: [Int] {
        let index = Dictionary(uniqueKeysWithValues: Set(classNames).sorted().enumerated().map { ($1, $0) })
        return classNames.map { index[$0]! }
    }

    /// Rows `positions` of the feature matrix.
    public func rows(_ positions: [Int]) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(positions.count * dimensions)
        for p in positions { out.append(contentsOf: features[(p * dimensions)..<((p + 1) * dimensions)]) }
        return out
    }
}
