import Foundation
import SatSeekCatalog
import SatSeekModels

/// An index file opened together with the model that must be used with it; ``Archive`` searches it.
public struct SearchSession: Sendable {
    public let catalog: Catalog
    public let model: any ImageEmbedder

    /// - Parameters:
    ///   - db: The index file.
    ///   - model: A model spec for `ModelStore.load` (`effnet-lite0`, `effnet-lite0:/path/to.pth`).
    ///   - create: Create the index file if it does not exist (indexing) or require it (searching).
    public init(db: String, model: String, create: Bool, store: ModelStore = ModelStore()) throws {
        catalog = try Catalog(path: db, create: create)
        // Fail before loading weights if the index was built by another model.
        if let binding = try catalog.binding(), !binding.modelID.hasPrefix(ModelStore.modelIDPrefix(ofSpec: model)) {
            throw CatalogError.modelMismatch(path: catalog.path, indexModel: binding.modelID, requested: model)
        }
        self.model = try store.load(model)
    }

    /// A session over an open catalog and a loaded model (the binding is checked by ``Archive``).
    public init(catalog: Catalog, model: any ImageEmbedder) {
        self.catalog = catalog
        self.model = model
    }

    public func indexer() throws -> Indexer { try Indexer(catalog: catalog, model: model) }
}
