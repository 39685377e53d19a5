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
    public init() {}
    public var scanned = 0
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var failures: [Failure] = []
    public var seconds = 0.0
    /// Images decoded and embedded per second.
    public var imagesPerSecond: Double { seconds > 0 ? Double(added + updated) / seconds : 0 }
}

/// Adds the images of a folder to a catalog: decode (GDAL) → preprocess → embed → store, streamed.
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
    /// Images stored (with their auxiliary embeddings) in one transaction.
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
    /// Three stages overlap, with no pause between batches: a checker thread compares files with the
    /// catalog (size, mtime, content hash); the model's workers each take the next file to embed, decode it
    /// right before its network pass (``ImageEmbedder/embedStream(prepare:deliver:)``) and hand the
    /// embedding back; the calling thread stores every `batchSize` consecutive results in one transaction
    /// (with auxiliary embeddings) while the workers go on. The checker runs at most
    /// `(queueDepth + 1) × batchSize` files ahead of the store, so memory stays bounded for any archive size.
    /// - Parameter progress: Called after each stored batch (and once at the start) with counts, rate and ETA.
    public func index(_ root: String, progress: (ProgressSnapshot) -> Void = { _ in }) throws -> IndexReport {
        var skipped: [IndexReport.Failure] = []
        let files = try DatasetScanner.scan(root) { path, reason in skipped.append(.init(path: path, reason: reason)) }
        var report = try index(files: files, progress: progress)
        report.failures = skipped + report.failures
        return report
    }

    /// Indexes the given files (as ``index(_:progress:)`` does the files under a folder).
    public func index(files: [ImageFile], progress: (ProgressSnapshot) -> Void = { _ in }) throws -> IndexReport {
        var report = IndexReport()
        report.scanned = files.count
        for auxiliary in auxiliaries { try auxiliary.prepare(catalog: catalog) }
        let start = Date()
        var stored = 0, decodeFailures: [IndexReport.Failure] = []
        let stream = IndexStream(batchSize: max(1, batchSize), window: max(1, batchSize) * (queueDepth + 1))
        func snapshot() -> ProgressSnapshot {
            let checked = stream.checked()
            return ProgressSnapshot(
                done: checked.unchanged + checked.failures.count + stored, total: files.count,
                skipped: checked.unchanged, failed: checked.failures.count + decodeFailures.count,
                elapsed: Date().timeIntervalSince(start))
        }
        progress(snapshot())
        // Threads of their own (not Foundation's `Thread`: see `startDetachedThread`).
        try startDetachedThread(name: "satseek-check", stackSize: 8 << 20) { [self] in
            do {
                for file in files {
                    guard stream.add(try plan(file), path: file.path) else { return }
                }
                stream.finishChecking(error: nil)
            } catch {
                stream.finishChecking(error: error)
            }
        }
        let embedded = DispatchSemaphore(value: 0)
        let embed: @Sendable () -> Void = { [self] in
            let preprocessing = model.preprocessing, keepImages = !auxiliaries.isEmpty
            model.embedStream(
                prepare: { ticket, input in
                    guard let path = stream.path(ticket) else { return nil }
                    let outcome = Self.decode(path, into: input, preprocessing: preprocessing, keepImage: keepImages)
                    stream.decoded(ticket, outcome)
                    if case .success = outcome { return true }
                    return false
                },
                deliver: { ticket, embedding in
                    stream.embedded(ticket, Array(embedding))
                })
            stream.finishEmbedding()
            embedded.signal()
        }
        do {
            try startDetachedThread(name: "satseek-embed", stackSize: 8 << 20, embed)
        } catch {
            stream.stop()  // the checker sees the stop and ends
            throw error
        }
        defer {
            stream.stop()
            embedded.wait()
        }
        while let batch = try stream.nextBatch() {
            try store(batch, report: &report, decodeFailures: &decodeFailures)
            stored += batch.count
            progress(snapshot())
        }
        let checked = stream.checked()
        report.unchanged = checked.unchanged
        report.failures = checked.failures + decodeFailures
        report.seconds = Date().timeIntervalSince(start)
        progress(snapshot())
        return report
    }

    /// Batches the checker may run ahead of the store, besides the one being filled.
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
        // Whether the stored row still has its embedding (a damaged catalog can lose it) and every auxiliary kind.
        let complete =
            try existing.map { record in
                guard try catalog.hasEmbedding(id: record.id!) else { return false }
                guard !auxiliaries.isEmpty else { return true }
                let have = try catalog.auxiliaryKinds(id: record.id!)
                return auxiliaries.allSatisfy { have.contains($0.kind) }
            } ?? false
        if let existing, complete, existing.byteSize == size, existing.modifiedAt == mtime,
            existing.modelID == model.modelID
        {
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
        let record = ImageRecord(
            id: existing?.id, path: file.path, className: file.className, width: 0, height: 0,
            byteSize: size, modifiedAt: mtime, contentHash: hash, modelID: model.modelID,
            addedAt: Date().timeIntervalSince1970)
        return .embed(PendingImage(record: record, isUpdate: existing != nil))
    }

    /// What decoding one pending file gave: its size and, when auxiliary embeddings need it, the image.
    struct Decoded {
        let width: Int
        let height: Int
        let image: RGBImage?
    }

    /// Decodes `path` and writes the model input for it (on the model worker that embeds it next).
    static func decode(
        _ path: String, into input: UnsafeMutableBufferPointer<Float>, preprocessing: Preprocessing,
        keepImage: Bool
    ) -> Result<Decoded, ImageError> {
        Result {
            let image = try ImageDecoder.decode(URL(fileURLWithPath: path), maxSide: decodeMaxSide)
            guard image.width >= minimumSide && image.height >= minimumSide else {
                throw ImageError(
                    path: path,
                    reason:
                        "image is \(image.width)×\(image.height) pixels; at least \(minimumSide)×\(minimumSide) needed")
            }
            preprocessing.write(image, into: input)
            return Decoded(width: image.width, height: image.height, image: keepImage ? image : nil)
        }.mapError { $0 as? ImageError ?? ImageError(path: path, reason: "\($0)") }
    }

    /// Stores one batch of consecutive results (backbone + auxiliary embeddings) in one transaction;
    /// files that failed to decode are reported and left out.
    func store(
        _ batch: [IndexStream.Slot], report: inout IndexReport, decodeFailures: inout [IndexReport.Failure]
    ) throws {
        var items: [CatalogItem] = []
        var updates: [Bool] = []
        var images: [RGBImage] = []
        var backbone: [Float] = []
        for slot in batch {
            switch slot.outcome! {
            case .success(let decoded):
                var record = slot.pending.record
                record.width = decoded.width
                record.height = decoded.height
                items.append(CatalogItem(record: record, embedding: slot.embedding!))
                updates.append(slot.pending.isUpdate)
                if let image = decoded.image {
                    images.append(image)
                    backbone += slot.embedding!
                }
            case .failure(let error):
                decodeFailures.append(.init(path: slot.pending.record.path, reason: error.reason))
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

/// The hand-offs between ``Indexer``'s stages. Files to embed get consecutive tickets as the checker finds
/// them; workers take a ticket's file, then record its decode outcome and embedding; the store takes
/// `batchSize` consecutive finished tickets at a time. The checker waits while `window` tickets are not
/// yet stored (back-pressure) unless a worker is waiting for a ticket it has not reached: a model that
/// prepares a whole group of tickets before embedding any (the protocol's default `embedStream`) must get
/// them all, whatever the window. ``stop()`` ends every stage's waiting.
final class IndexStream: @unchecked Sendable {
    struct Slot {
        let pending: Indexer.PendingImage
        var outcome: Result<Indexer.Decoded, ImageError>?
        var embedding: [Float]?
        /// Decoded and embedded, or failed to decode.
        var finished: Bool {
            switch outcome {
            case .success: embedding != nil
            case .failure: true
            case nil: false
            }
        }
    }

    private let batchSize: Int
    private let window: Int
    private let condition = NSCondition()
    /// Tickets `stored ..< stored + slots.count`.
    private var slots: [Slot] = []
    private var stored = 0
    /// The highest ticket a worker has asked for.
    private var wanted = -1
    private var unchanged = 0
    private var failures: [IndexReport.Failure] = []
    private var checkingDone = false
    private var embeddingDone = false
    private var stopped = false
    private var failure: Error?

    init(batchSize: Int, window: Int) {
        self.batchSize = batchSize
        self.window = max(window, batchSize)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        return try body()
    }

    // MARK: Checker

    /// Records one checked file, waiting while the window is full; `false` once stopped.
    func add(_ plan: Indexer.Plan, path: String) -> Bool {
        locked {
            while slots.count >= window && stored + slots.count > wanted && !stopped { condition.wait() }
            guard !stopped else { return false }
            switch plan {
            case .unchanged: unchanged += 1
            case .failed(let reason): failures.append(.init(path: path, reason: reason))
            case .embed(let pending): slots.append(Slot(pending: pending))
            }
            return true
        }
    }

    func finishChecking(error: Error?) {
        locked {
            checkingDone = true
            if let error {
                failure = error
                stopped = true
            }
        }
    }

    /// Files found unchanged and files the checker could not read, so far.
    func checked() -> (unchanged: Int, failures: [IndexReport.Failure]) {
        locked { (unchanged, failures) }
    }

    // MARK: Workers

    /// The file of `ticket`, waiting for the checker to reach it; `nil` past the last one or once stopped.
    func path(_ ticket: Int) -> String? {
        locked {
            if ticket > wanted {
                wanted = ticket
                condition.broadcast()
            }
            while ticket - stored >= slots.count && !checkingDone && !stopped { condition.wait() }
            guard !stopped, ticket - stored < slots.count else { return nil }
            return slots[ticket - stored].pending.record.path
        }
    }

    func decoded(_ ticket: Int, _ outcome: Result<Indexer.Decoded, ImageError>) {
        locked { slots[ticket - stored].outcome = outcome }
    }

    func embedded(_ ticket: Int, _ embedding: [Float]) {
        locked { slots[ticket - stored].embedding = embedding }
    }

    func finishEmbedding() {
        locked { embeddingDone = true }
    }

    // MARK: Store

    /// The next `batchSize` finished tickets (fewer at the end), waiting for them; `nil` when all are
    /// stored; rethrows the checker's error.
    func nextBatch() throws -> [Slot]? {
        try locked {
            while true {
                if let failure { throw failure }
                let ready = slots.prefix(batchSize).prefix(while: \.finished).count
                let last = checkingDone && ready == slots.count
                if ready == batchSize || (last && ready > 0) {
                    let batch = Array(slots[0..<ready])
                    slots.removeFirst(ready)
                    stored += ready
                    return batch
                }
                if last || stopped || embeddingDone { return nil }
                condition.wait()
            }
        }
    }

    /// Ends every stage's waiting (the store failed or has finished).
    func stop() {
        locked { stopped = true }
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
    /// Called once before a run stores anything, to keep what searching these vectors needs with the catalog.
    func prepare(catalog: Catalog) throws
}

extension AuxiliaryEmbedding {
    public func prepare(catalog: Catalog) throws {}
}
