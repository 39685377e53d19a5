import Foundation
import SatSeekCatalog
import SatSeekImaging
import SatSeekModels
import SatSeekTensor

/// What one `index` run did.
public struct IndexReport: Sendable, Codable {
    public struct Failure: Sendable, Codable {
        public let path: String
        public let reason: String
    }
    public var scanned = 0
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var failures: [Failure] = []
    public var seconds = 0.0
    /// Images decoded and embedded per second.
    public var imagesPerSecond: Double { seconds > 0 ? Double(added + updated) / seconds : 0 }
}

/// Adds the images of a folder to a catalog: decode (GDAL) → preprocess → embed → store, in batches.
///
/// Re-running on the same folder skips files whose size and modification time (or, failing that, content
/// hash) are unchanged, re-embeds changed ones in place and never duplicates a path. Each batch is stored
/// in one transaction, so an interrupted run keeps every batch it finished and loses nothing stored before.
public struct Indexer: Sendable {
    /// Smallest width/height accepted; smaller images carry no usable content for a CNN.
    public static let minimumSide = 8
    /// Larger rasters are read downsampled by GDAL before the model's own resize.
    public static let decodeMaxSide = 2048

    public let catalog: Catalog
    public let model: any ImageEmbedder
    public var batchSize = 32
    /// Extra embeddings computed and stored with every image (sketch domain, learned heads, …).
    /// An unchanged image that lacks one of their kinds is processed again.
    public var auxiliaries: [any AuxiliaryEmbedding] = []

    public init(catalog: Catalog, model: any ImageEmbedder) throws {
        self.catalog = catalog
        self.model = model
        try catalog.bind(ModelBinding(modelID: model.modelID, dimensions: model.dimensions))
    }

    /// Indexes every image file under `root`.
    ///
    /// Two stages overlap: a producer thread checks the next batch's files against the catalog (size,
    /// mtime, content hash) while the calling thread decodes, embeds and stores the previous one — each
    /// image decoded by the model worker that embeds it next (``ImageEmbedder/embed(count:prepare:)``), so
    /// decoding adds its own time and nothing else. At most `queueDepth` checked batches wait between the
    /// stages, so memory stays bounded for any archive size.
    /// - Parameter progress: Called after each batch (and once at the start) with counts, rate and ETA.
    public func index(_ root: String, progress: (ProgressSnapshot) -> Void = { _ in }) throws -> IndexReport {
        let files = try DatasetScanner.scan(root)
        var report = IndexReport()
        report.scanned = files.count
        let start = Date()
        var done = 0
        func snapshot() -> ProgressSnapshot {
            ProgressSnapshot(done: done, total: files.count, skipped: report.unchanged,
                             failed: report.failures.count, elapsed: Date().timeIntervalSince(start))
        }
        progress(snapshot())
        let queue = BoundedQueue<PreparedBatch>(capacity: queueDepth)
        let producer = Thread { [self] in
            do {
                var batch = PreparedBatch()
                for file in files {
                    if queue.isCancelled { return }
                    batch.files += 1
                    switch try plan(file) {
                    case .unchanged: batch.unchanged += 1
                    case .failed(let reason): batch.failures.append(.init(path: file.path, reason: reason))
                    case .embed(let item): batch.pending.append(item)
                    }
                    if batch.pending.count == batchSize {
                        queue.put(batch)
                        batch = PreparedBatch()
                    }
                }
                queue.put(batch)
                queue.finish(error: nil)
            } catch {
                queue.finish(error: error)
            }
        }
        producer.stackSize = 8 << 20
        producer.start()
        defer { queue.cancel() }
        while let batch = try queue.take() {
            report.unchanged += batch.unchanged
            report.failures += batch.failures
            try store(batch, report: &report)
            done += batch.files
            progress(snapshot())
        }
        report.seconds = Date().timeIntervalSince(start)
        progress(snapshot())
        return report
    }

    /// Prepared batches allowed to wait for the embedding stage.
    public var queueDepth = 2
    /// A file that needs (re-)embedding.
    struct PendingImage {
        var record: ImageRecord
        let isUpdate: Bool
    }

    enum Plan {
        case unchanged
        case failed(String)
        case embed(PendingImage)
    }

    /// Decides from the catalog, file size, mtime and content hash whether a file needs work.
    func plan(_ file: ImageFile) throws -> Plan {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        } catch {
            return .failed("cannot read file attributes (\(error.localizedDescription))")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let existing = try catalog.record(path: file.path)
        // Whether the stored row already has every auxiliary kind; only asks the catalog when there are any.
        let complete = try existing.map { record in
            guard !auxiliaries.isEmpty else { return true }
            let have = try catalog.auxiliaryKinds(id: record.id!)
            return auxiliaries.allSatisfy { have.contains($0.kind) }
        } ?? false
        if let existing, complete, existing.byteSize == size, existing.modifiedAt == mtime, existing.modelID == model.modelID {
            return .unchanged
        }
        guard size > 0 else { return .failed("empty file (0 bytes)") }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            return .failed("cannot read file")
        }
        let hash = contentHash(of: data)
        if let existing, complete, existing.contentHash == hash, existing.modelID == model.modelID {
            return .unchanged
        }
        let record = ImageRecord(id: existing?.id, path: file.path, className: file.className, width: 0, height: 0,
                                 byteSize: size, modifiedAt: mtime, contentHash: hash, modelID: model.modelID,
                                 addedAt: Date().timeIntervalSince1970)
        return .embed(PendingImage(record: record, isUpdate: existing != nil))
    }

    /// A batch ready for the model: files checked against the catalog, the ones to embed listed.
    struct PreparedBatch: Sendable {
        var files = 0
        var unchanged = 0
        var failures: [IndexReport.Failure] = []
        var pending: [PendingImage] = []
    }

    /// What decoding one pending file gave: its size and, when auxiliary embeddings need it, the image.
    struct Decoded {
        let width: Int
        let height: Int
        let image: RGBImage?
    }

    /// Decodes, embeds (backbone + auxiliaries) and stores a batch in one transaction. Each image is decoded
    /// and preprocessed by the model's worker that embeds it, right before its network pass; images that
    /// fail to decode are reported and left out.
    func store(_ batch: PreparedBatch, report: inout IndexReport) throws {
        guard !batch.pending.isEmpty else { return }
        let preprocessing = model.preprocessing
        let paths = batch.pending.map(\.record.path)
        let keepImages = !auxiliaries.isEmpty
        var outcomes = [Result<Decoded, ImageError>?](repeating: nil, count: paths.count)
        let embeddings = outcomes.withUnsafeMutableBufferPointer { results in
            let box = UncheckedSendableBox(results)
            return model.embed(count: paths.count) { i, input in
                let outcome = Result {
                    let image = try ImageDecoder.decode(URL(fileURLWithPath: paths[i]), maxSide: Self.decodeMaxSide)
                    guard image.width >= Self.minimumSide && image.height >= Self.minimumSide else {
                        throw ImageError(path: paths[i], reason: "image is \(image.width)×\(image.height) pixels; at least \(Self.minimumSide)×\(Self.minimumSide) needed")
                    }
                    preprocessing.write(image, into: input)
                    return Decoded(width: image.width, height: image.height, image: keepImages ? image : nil)
                }.mapError { $0 as? ImageError ?? ImageError(path: paths[i], reason: "\($0)") }
                box.value[i] = outcome
                if case .success = outcome { return true }
                return false
            }
        }
        let dims = model.dimensions
        var items: [CatalogItem] = []
        var updates: [Bool] = []
        var images: [RGBImage] = []
        var backbone: [Float] = []
        for (i, outcome) in outcomes.enumerated() {
            switch outcome! {
            case .success(let decoded):
                var record = batch.pending[i].record
                record.width = decoded.width
                record.height = decoded.height
                let embedding = Array(embeddings[(i * dims)..<((i + 1) * dims)])
                items.append(CatalogItem(record: record, embedding: embedding))
                updates.append(batch.pending[i].isUpdate)
                if let image = decoded.image {
                    images.append(image)
                    backbone += embedding
                }
            case .failure(let error):
                report.failures.append(.init(path: paths[i], reason: error.reason))
            }
        }
        guard !items.isEmpty else { return }
        for auxiliary in auxiliaries {
            let vectors = try auxiliary.embed(images: images, backbone: backbone)
            let width = auxiliary.dimensions
            for row in items.indices {
                items[row].auxiliary[auxiliary.kind] = Array(vectors[(row * width)..<((row + 1) * width)])
            }
        }
        _ = try catalog.upsert(items)
        for isUpdate in updates {
            if isUpdate { report.updated += 1 } else { report.added += 1 }
        }
    }
}

/// A blocking FIFO with a capacity, connecting the indexing stages (back-pressure: `put` waits
/// while full). The producer ends it with `finish`; the consumer `cancel`s it to stop the producer.
final class BoundedQueue<Element>: @unchecked Sendable {
    private var items: [Element] = []
    private let capacity: Int
    private var finished = false
    private var failure: Error?
    private var cancelled = false
    private let condition = NSCondition()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Waits for room, then appends (dropped if the consumer has cancelled).
    func put(_ item: Element) {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return }
        items.append(item)
        condition.broadcast()
    }

    /// The next element; `nil` once finished and drained; rethrows the producer's error.
    func take() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            let item = items.removeFirst()
            condition.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    func finish(error: Error?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}

/// A second embedding stored beside the backbone's for every indexed image.
public protocol AuxiliaryEmbedding: Sendable {
    /// Storage kind, unique per index (e.g. `"sketch"`, `"head:<id>"`).
    var kind: String { get }
    /// Length of each vector.
    var dimensions: Int { get }
    /// Embeds one batch.
    /// - Parameters:
    ///   - images: The decoded images, in batch order.
    ///   - backbone: Their backbone embeddings, `images.count × model.dimensions`, row-major.
    /// - Returns: `images.count × dimensions` floats.
    func embed(images: [RGBImage], backbone: [Float]) throws -> [Float]
}
