import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning

/// Stores a trained head's float output beside every indexed image (kind `head:<id>`); the binary code is
/// its sign, derived when searching. The head needs only the backbone embeddings, not the pixels.
public struct HeadAuxiliary: AuxiliaryEmbedding {
    /// The head and its metadata.
    public let trained: TrainedHead

    /// - Throws: ``LearningError/backboneMismatch(path:headBackbone:requested:)`` when the head was trained
    ///   on another backbone than `backboneModelID`.
    public init(trained: TrainedHead, backboneModelID: String, path: String = "head") throws {
        try trained.requireBackbone(backboneModelID, path: path)
        self.trained = trained
    }

    /// Loads a head file for use with the backbone `backboneModelID`.
    public init(path: String, backboneModelID: String) throws {
        try self.init(
            trained: HeadFile.read(path, backboneModelID: backboneModelID), backboneModelID: backboneModelID,
            path: path)
    }

    /// `head:<id>`.
    public var kind: String { trained.kind }
    /// Code length (or float embedding size).
    public var dimensions: Int { trained.bits }

    /// Applies the head to the batch's backbone embeddings (the pixels are not needed).
    public func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] {
        let inputs = trained.header.architecture.inputDimensions
        return trained.head.embed(backbone, count: backbone.count / inputs)
    }
}

/// Search with a trained head over an index built with `satseek index --head`: Hamming ranking on the
/// codes (optionally re-ranked by the cosine of the float head outputs), or cosine for float heads.
public struct HeadSearcher: Sendable {
    /// The index (catalog) and its backbone model.
    public let session: SearchSession
    /// The head used for queries.
    public let trained: TrainedHead
    let hamming: HammingIndex?
    let flat: FlatIndex?

    /// - Throws: when the head's backbone is not the index's, or the index holds no vectors of this head.
    public init(session: SearchSession, headPath: String) throws {
        self.session = session
        trained = try HeadFile.read(headPath, backboneModelID: session.model.modelID)
        let stored = try session.catalog.embeddings(kind: trained.kind)
        guard !stored.ids.isEmpty else {
            throw SearchError.notFound(
                "\(session.catalog.path) holds no embeddings of head \(trained.header.id) "
                    + "(\(headPath)); add them with `satseek index DIR --db \(session.catalog.path) --head \(headPath)`"
            )
        }
        guard stored.dimensions == trained.bits else {
            throw SearchError.invalidInput(
                "\(session.catalog.path): stored head vectors have \(stored.dimensions) values, the head outputs \(trained.bits)"
            )
        }
        if trained.header.architecture.output == .codes {
            hamming = HammingIndex(ids: stored.ids, activations: stored.vectors, bits: trained.bits, keepFloats: true)
            flat = nil
        } else {
            flat = FlatIndex(dimensions: trained.bits, metric: .cosine, ids: stored.ids, vectors: stored.vectors)
            hamming = nil
        }
    }

    /// The `k` nearest indexed images to an image file.
    public func search(imageAt path: String, k: Int, rerankDepth: Int? = nil) throws -> [SearchResult] {
        let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: Indexer.decodeMaxSide)
        let backbone = session.model.embed(images: [image])
        return try search(headOutput: trained.head.embed(backbone, count: 1), k: k, rerankDepth: rerankDepth)
    }

    /// The `k` nearest indexed images to an indexed item (left out of the results).
    public func search(itemID: Int64, k: Int, rerankDepth: Int? = nil) throws -> [SearchResult] {
        guard let vector = try session.catalog.embedding(id: itemID, kind: trained.kind) else {
            throw SearchError.notFound(
                "\(session.catalog.path): no head \(trained.header.id) vector for item \(itemID)")
        }
        return try search(headOutput: vector, k: k, excluding: [itemID], rerankDepth: rerankDepth)
    }

    /// Ranks by Hamming distance of the sign codes (score = fraction of equal bits), or by cosine after
    /// re-ranking the `rerankDepth` Hamming-nearest, or by cosine for float heads.
    public func search(
        headOutput: [Float], k: Int, excluding: Set<Int64> = [], rerankDepth: Int? = nil
    ) throws -> [SearchResult] {
        guard k > 0 else { throw SearchError.invalidInput("k must be positive (got \(k))") }
        let hits =
            hamming?.search(
                activations: headOutput, k: k, excluding: excluding,
                rerankDepth: rerankDepth.map { max($0, k) })
            ?? flat!.search(headOutput, k: k, excluding: excluding)
        return try SearchResult.ranked(hits, catalog: session.catalog)
    }
}
