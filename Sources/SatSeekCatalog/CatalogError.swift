/// Errors raised by ``Catalog``. Each `description` is a complete sentence meant
/// to be shown to a user as is.
public enum CatalogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The catalog at `path` is bound to `indexModel`; `requested` is a different model.
    case modelMismatch(path: String, indexModel: String, requested: String)
    /// Same model id, but a different embedding length than the catalog stores.
    case dimensionMismatch(path: String, modelID: String, indexDimensions: Int, requested: Int)
    /// The file exists but is not a SatSeek catalog (not SQLite, or foreign schema).
    case notACatalog(path: String, reason: String)
    /// The catalog file does not exist and creation was not requested.
    case missing(path: String)
    /// The file could not be opened or created (e.g. its folder does not exist).
    case cannotOpen(path: String, reason: String)
    /// The catalog was written by a newer SatSeek whose format this build does not know.
    case unsupportedFormat(path: String, found: String, supported: String)
    /// Embeddings were written before any model was bound with ``Catalog/bind(_:)``.
    case unbound(path: String)
    /// An embedding handed to ``Catalog/upsert(_:)`` has the wrong length or non-finite values.
    case invalidEmbedding(imagePath: String, reason: String)
    /// Stored data is inconsistent (e.g. a truncated embedding blob).
    case corrupt(path: String, reason: String)
    /// A chip footprint that is not finite EPSG:4326 degrees (nothing is stored).
    case invalidFootprint(imagePath: String, reason: String)

    /// Human-readable explanation, naming the file and what to do.
    public var description: String {
        switch self {
        case let .modelMismatch(path, indexModel, requested):
            return "Catalog '\(path)' was built with model '\(indexModel)', but model '\(requested)' "
                + "was requested. Embeddings from different models are not comparable: use model "
                + "'\(indexModel)' with this catalog, or index into a new catalog file."
        case let .dimensionMismatch(path, modelID, indexDimensions, requested):
            return "Catalog '\(path)' stores \(indexDimensions)-dimensional embeddings for model "
                + "'\(modelID)', but \(requested) dimensions were requested."
        case let .notACatalog(path, reason):
            return "'\(path)' is not a SatSeek catalog: \(reason)."
        case let .missing(path):
            return "Catalog file '\(path)' does not exist."
        case let .cannotOpen(path, reason):
            return "Cannot open catalog '\(path)': \(reason)."
        case let .unsupportedFormat(path, found, supported):
            return "Catalog '\(path)' uses format \(found), which this SatSeek build does not support "
                + "(supported: \(supported)); upgrade SatSeek or rebuild the catalog."
        case let .unbound(path):
            return "Catalog '\(path)' has no model bound yet; bind a model before adding embeddings."
        case let .invalidEmbedding(imagePath, reason):
            return "Invalid embedding for '\(imagePath)': \(reason)."
        case let .corrupt(path, reason):
            return "Catalog '\(path)' is damaged: \(reason)."
        case let .invalidFootprint(imagePath, reason):
            return "Invalid footprint for '\(imagePath)': \(reason)."
        }
    }
}
