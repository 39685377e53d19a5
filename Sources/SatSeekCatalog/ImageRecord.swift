import Foundation
import GRDB

/// One catalogued image file (table `image`); its embedding lives in table
/// `embedding`, keyed by image id and model id.
public struct ImageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// Table name in the catalog database.
    public static let databaseTableName = "image"

    /// Row id; `nil` until the record has been stored.
    public var id: Int64?
    /// Absolute, standardised file path; unique within a catalog.
    public var path: String
    /// Class label: the name of the file's parent folder.
    public var className: String
    /// Raster width in pixels.
    public var width: Int
    /// Raster height in pixels.
    public var height: Int
    /// File size in bytes.
    public var byteSize: Int64
    /// File modification time, seconds since 1970.
    public var modifiedAt: Double
    /// ``contentHash(of:)`` of the file bytes (hex), used to detect changes.
    public var contentHash: String
    /// Identifier of the model that produced the stored embedding.
    public var modelID: String
    /// When the record was (last) written, seconds since 1970.
    public var addedAt: Double

    /// Creates a record. `addedAt` defaults to now.
    public init(
        id: Int64? = nil, path: String, className: String, width: Int, height: Int,
        byteSize: Int64, modifiedAt: Double, contentHash: String, modelID: String,
        addedAt: Double = Date().timeIntervalSince1970
    ) {
        self.id = id
        self.path = path
        self.className = className
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.modifiedAt = modifiedAt
        self.contentHash = contentHash
        self.modelID = modelID
        self.addedAt = addedAt
    }

    /// Class label for a file path: the name of its parent folder
    /// (`/data/UCMerced/forest/forest01.tif` → `forest`).
    public static func className(forPath path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
    }

    /// `true` when `size` and `modifiedAt` match this record, i.e. the file can be
    /// skipped without re-hashing.
    public func isUnchanged(byteSize size: Int64, modifiedAt mtime: Double) -> Bool {
        byteSize == size && modifiedAt == mtime
    }
}

/// The model an index was built with: embeddings from different models (or of
/// different lengths) are not comparable, so a catalog is bound to exactly one.
public struct ModelBinding: Sendable, Equatable, Codable {
    /// Model identifier, e.g. `"efficientnet-lite0"`.
    public let modelID: String
    /// Embedding length produced by the model.
    public let dimensions: Int

    /// Creates a binding.
    public init(modelID: String, dimensions: Int) {
        self.modelID = modelID
        self.dimensions = dimensions
    }
}

/// One image to store: its record, the bound model's embedding, and optional auxiliary embeddings
/// keyed by kind (e.g. `"sketch"`, `"head:<id>"`).
public struct CatalogItem: Sendable {
    /// The image's catalog row (its `id` is ignored; rows are keyed by path).
    public var record: ImageRecord
    /// The bound model's embedding.
    public var embedding: [Float]
    /// Extra embeddings by kind; stored under `<model id>#<kind>`.
    public var auxiliary: [String: [Float]]
    /// For a chip cut from a scene: its scene, window and footprint, stored in the same transaction as the row.
    public var chip: ChipInfo?

    public init(record: ImageRecord, embedding: [Float], auxiliary: [String: [Float]] = [:], chip: ChipInfo? = nil) {
        self.record = record
        self.embedding = embedding
        self.auxiliary = auxiliary
        self.chip = chip
    }
}
