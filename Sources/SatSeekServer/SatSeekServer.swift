import Dispatch
import Foundation
import Hummingbird
import Logging
import SatSeekCatalog
import SatSeekGeo
import SatSeekModels
import SatSeekImaging
import SatSeekIndex
import SatSeekLearning
import SatSeekSearch
import SatSeekStore

/// Settings of `satseek serve`.
public struct ServerConfiguration: Sendable {
    /// Interface to bind (`127.0.0.1` by default: loopback only).
    public var host: String
    /// TCP port; `0` picks a free one (see ``SatSeekServer/run(onStarted:)``).
    public var port: Int
    /// Largest accepted upload (image or sketch), in bytes.
    public var maxUploadBytes: Int
    /// Where Debian's `libjs-leaflet` installs Leaflet.
    public var leafletDirectory: String
    /// Result count when a request gives no `k`; requests may ask for at most ``maxK``.
    public var defaultK: Int
    public var maxK: Int
    /// Open connections at most; further clients wait in the listen backlog until one closes.
    public var maxConnections: Int
    /// Seconds a connection may sit without a complete request head or between requests before it is closed
    /// (slow or abandoned clients, HTTP/1.0 keep-alive sockets).
    public var idleTimeoutSeconds: Double
    /// Seconds an upload body may take to arrive in full; a slower one is answered 408.
    public var uploadTimeoutSeconds: Double
    /// Uploads decoded and embedded at once (default: one per core), and how many more may wait; beyond that the
    /// server answers 503 with `Retry-After` instead of queueing without bound.
    public var embeddingWorkers: Int
    public var embeddingQueue: Int
    /// Images rendered at once, and how many more may wait (thumbnails come many per page).
    public var renderWorkers: Int
    public var renderQueue: Int
    /// A Nominatim server for street addresses in the item view (`--geocoder URL`); `nil`: none is contacted.
    public var geocoder: URL?

    /// Creates a configuration with the defaults of `satseek serve`.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxUploadBytes: Int = 20 << 20,
        leafletDirectory: String = "/usr/share/javascript/leaflet", defaultK: Int = 24, maxK: Int = 500,
        maxConnections: Int = 256, idleTimeoutSeconds: Double = 30, uploadTimeoutSeconds: Double = 60,
        embeddingWorkers: Int = ProcessInfo.processInfo.activeProcessorCount, embeddingQueue: Int = 8,
        renderWorkers: Int = ProcessInfo.processInfo.activeProcessorCount, renderQueue: Int = 256
    ) {
        self.host = host
        self.port = port
        self.maxUploadBytes = maxUploadBytes
        self.leafletDirectory = leafletDirectory
        self.defaultK = defaultK
        self.maxK = maxK
        self.maxConnections = maxConnections
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.uploadTimeoutSeconds = uploadTimeoutSeconds
        self.embeddingWorkers = embeddingWorkers
        self.embeddingQueue = embeddingQueue
        self.renderWorkers = renderWorkers
        self.renderQueue = renderQueue
        self.geocoder = nil
    }
}

/// A client error with its HTTP status; the message is returned as JSON.
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
}

/// The SatSeek web app: a JSON search API over one index plus the browser UI (Hummingbird 2).
///
/// Every route answers errors as `{"error": {"status", "message"}}` with a 4xx status for bad input, and
/// images are only ever rendered from the files recorded in the index (ids in, never paths).
public final class SatSeekServer: Sendable {
    public let configuration: ServerConfiguration
    /// The search engine every route queries (the same one the CLI uses).
    let archive: Archive
    /// Whether the archive answers sketch queries now (asked at every request, so sketch codes that `index`
    /// adds to a running server's catalog turn the mode on).
    var hasSketch: Bool { (try? archive.sketchSearcher()) != nil }
    /// Whether the archive answers text queries now (asked at every request, so alignment vectors that `index
    /// --align` adds to a running server's catalog turn the mode on).
    var hasText: Bool { (try? archive.textSearcher()) != nil }
    let renderer: ImageRenderer
    let geocoder: NominatimClient?
    let assets: StaticAssets
    /// Every item's metadata (footprint ring included) by id: read at start-up, and items indexed later are read
    /// on first use (an `index` run beside the server).
    let items: ItemDirectory
    /// The index's source scenes (path and what `/api/scenes` says), read once at start-up.
    let scenes: [(path: String, info: SceneInfo)]
    /// Blocking work runs on these bounded queues instead of on the server's event loops: decoding and
    /// embedding uploads (expensive, few may wait), and rendering images (cheap, many per page).
    let embedding: WorkQueue
    let rendering: WorkQueue

    /// Opens the archive of `session` (its embedded store, or `store` when given).
    public convenience init(
        session: SearchSession, store: (any VectorStore)? = nil,
        configuration: ServerConfiguration = ServerConfiguration()
    ) throws {
        try self.init(archive: Archive(session: session, store: store), configuration: configuration)
    }

    /// Serves `archive`; sketch search is enabled when the index has sketch embeddings, text when it has a text side.
    public init(archive: Archive, configuration: ServerConfiguration = ServerConfiguration()) throws {
        self.configuration = configuration
        self.archive = archive
        embedding = WorkQueue(
            label: "satseek.server.embedding", workers: configuration.embeddingWorkers,
            waiting: configuration.embeddingQueue)
        rendering = WorkQueue(
            label: "satseek.server.rendering", workers: configuration.renderWorkers,
            waiting: configuration.renderQueue)
        (archive.store as? EmbeddedStore)?.refreshInterval = 0.25
        // Builds (and caches) the text searcher now, as the server did before the mode was asked per request: its
        // first build loads the sentence encoder and the class texts, which is no work for the first request.
        _ = try? archive.textSearcher()
        renderer = ImageRenderer(catalog: archive.catalog)
        geocoder = configuration.geocoder.map { NominatimClient(endpoint: $0) }
        // Place names when the gazetteer is installed (a server without it shows coordinates only).
        items = try ItemDirectory(catalog: archive.catalog, gazetteer: try ModelStore().gazetteer())
        assets = StaticAssets(leafletDirectory: configuration.leafletDirectory)
        scenes = try archive.catalog.scenes().enumerated().map { index, scene in
            // The overlay is the whole scene, so its box is the scene's footprint, not just its chips'.
            let full = (try? SceneTiler(path: scene.path, options: SceneTilingOptions(tile: 8)))?.sceneFootprint?.bbox
            let chipsBox = scene.minLon.map { [$0, scene.minLat!, scene.maxLon!, scene.maxLat!] }
            let info = SceneInfo(
                index: index, name: URL(fileURLWithPath: scene.path).lastPathComponent, chips: scene.chips,
                bbox: full.map { [$0.minLon, $0.minLat, $0.maxLon, $0.maxLat] } ?? chipsBox,
                image: "/api/scenes/\(index)/image")
            return (scene.path, info)
        }
    }

    /// Runs the server until cancelled; `onStarted` receives the bound port (useful with port 0).
    public func run(onStarted: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(onStarted: onStarted).run()
    }

    /// Runs the server as a service: SIGTERM and SIGINT shut it down gracefully (requests in flight finish).
    public func runService(onStarted: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(onStarted: onStarted).runService()
    }

    private func application(onStarted: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let idle = Int64(configuration.idleTimeoutSeconds * 1_000_000_000)
        return Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(idle))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "satseek",
                availableConnectionsDelegate: .maximum(
                    configuration.maxConnections,
                    logger: Logger(label: "satseek.connections"))),
            onServerRunning: { channel in await onStarted(channel.localAddress?.port ?? 0) })
    }

    /// All routes; ``OpenAPIDocument`` describes the same set.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in self.asset("index.html") }
        router.get("/app.js") { _, _ in self.asset("app.js") }
        router.get("/app.css") { _, _ in self.asset("app.css") }
        router.get("/leaflet/**") { request, _ in
            self.asset("leaflet/" + request.uri.path.dropFirst("/leaflet/".count))
        }
        router.get("/openapi.json") { _, _ in
            Self.bytes(
                Data(OpenAPIDocument.json(maxUploadBytes: self.configuration.maxUploadBytes).utf8),
                type: "application/json")
        }
        router.get("/api/info") { _, _ in await self.answer { try self.info() } }
        router.get("/api/scenes") { _, _ in await self.answer { try self.info().scenes } }
        router.get("/api/scenes/{index}/image") { request, context in
            await self.image {
                let index = try Self.integer(context.parameters.get("index"), name: "scene index")
                guard index < self.scenes.count else { throw APIError(status: .notFound, message: "no scene \(index)") }
                return try self.renderer.sceneImage(
                    path: self.scenes[Int(index)].path, size: Self.size(request, default: 1024))
            }
        }
        router.get("/api/tiles/{z}/{x}/{y}") { _, context in
            await self.image {
                let z = try Self.integer(context.parameters.get("z"), name: "zoom")
                let x = try Self.integer(context.parameters.get("x"), name: "tile column")
                let yText = context.parameters.get("y").map { $0.hasSuffix(".png") ? String($0.dropLast(4)) : $0 }
                let y = try Self.integer(yText, name: "tile row")
                guard WebMercator.isValid(z: Int(z), x: Int(x), y: Int(y)) else {
                    throw APIError(
                        status: .notFound, message: "no tile \(z)/\(x)/\(y) (zoom 0…\(WebMercator.maximumZoom))")
                }
                let scenes = self.scenes.map { scene in
                    (
                        scene.path,
                        scene.info.bbox.map { GeoBox(minLon: $0[0], minLat: $0[1], maxLon: $0[2], maxLat: $0[3]) }
                    )
                }
                return try self.renderer.mapTile(z: Int(z), x: Int(x), y: Int(y), scenes: scenes)
            }
        }
        router.get("/api/items/{id}") { _, context in
            await self.answer { try await self.itemDetail(Self.integer(context.parameters.get("id"), name: "item id")) }
        }
        router.get("/api/items/{id}/image") { request, context in
            await self.image {
                let id = try Self.integer(context.parameters.get("id"), name: "item id")
                return try self.renderer.itemImage(
                    id: id, size: Self.size(request, default: 256), storedPath: self.items.foreignPath(id))
            }
        }
        router.get("/api/search") { request, _ in
            await self.answer {
                let params = request.uri.queryParameters
                guard let text = params["item"] else {
                    throw APIError(
                        status: .badRequest, message: "give ?item=<id> (upload images with POST /api/search/image)")
                }
                let id = try Self.integer(String(text), name: "item id")
                let (k, filter) = try self.kAndFilter(request)
                return try await self.searchByItem(id, k: k, filter: filter)
            }
        }
        router.get("/api/search/text") { request, _ in
            await self.answer {
                guard self.hasText else {
                    throw APIError(
                        status: .notFound,
                        message:
                            "this index has no text side; index with `--align FILE` (from `satseek train-text`) or a CLIP model"
                    )
                }
                let query = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(
                    in: .whitespacesAndNewlines)
                guard !query.isEmpty, query.count <= 1000 else {
                    throw APIError(status: .badRequest, message: "give ?q=<sentence> (1…1000 characters)")
                }
                let (k, filter) = try self.kAndFilter(request)
                let params = request.uri.queryParameters
                let item = try params["item"].map { try Self.integer(String($0), name: "item id") }
                let weight = try params["text_weight"].map { text -> Float in
                    guard item != nil, let value = Float(String(text)), value.isFinite, (0...1).contains(value) else {
                        throw APIError(
                            status: .badRequest,
                            message: "text_weight must be in [0, 1] and comes with item (got '\(text.prefix(40))')")
                    }
                    return value
                }
                let start = Date()
                let results: [SearchResult]
                if let item {
                    results = try await self.archive.search(
                        .item(item), modifiedBy: query, textWeight: weight ?? ComposedQuery.defaultTextWeight,
                        k: k, filter: filter)
                } else {
                    results = try await self.archive.search(text: query, k: k, filter: filter)
                }
                return await self.response(
                    mode: item == nil ? "text" : "composed", k: k, box: filter.boundingBox,
                    query: try item.map { try self.item($0) }, start: start,
                    hits: results.map { ($0.id, $0.score) })
            }
        }
        router.post("/api/search/image") { request, _ in
            var upload = request
            let body = await self.collect(&upload)
            return await self.answer {
                let data = try body.get()
                let (k, filter) = try self.kAndFilter(request)
                return try await self.searchByImage(data, k: k, filter: filter)
            }
        }
        router.post("/api/search/sketch") { request, _ in
            var upload = request
            let body = await self.collect(&upload)
            return await self.answer {
                guard self.hasSketch else {
                    throw APIError(
                        status: .notFound,
                        message: "this index has no sketch embeddings; re-index with `satseek index … --sketchable`")
                }
                let data = try body.get()
                let k = try self.kAndFilter(request).k
                let start = Date()
                let hits = try await self.embedding.run {
                    try self.archive.search(sketchData: data, name: "sketch-upload", k: k)
                }.get()
                return await self.response(
                    mode: "sketch", k: k, box: nil, query: nil, start: start,
                    hits: hits.map { ($0.id, $0.score) },
                    regions: Dictionary(
                        hits.compactMap { hit in hit.region.map { (hit.id, [$0.x, $0.y, $0.width, $0.height]) } },
                        uniquingKeysWith: { a, _ in a }))
            }
        }
        addFeedbackRoutes(to: router)
        return router
    }

    // MARK: - Handlers

    func info() throws -> InfoResponse {
        let catalog = archive.catalog
        let binding = try catalog.binding()
        let scenes = scenes.map(\.info)
        return InfoResponse(
            items: try catalog.count(), model: binding?.modelID ?? "", dimensions: binding?.dimensions ?? 0,
            modes: .init(image: true, item: true, sketch: hasSketch, text: hasText),
            maxUploadBytes: configuration.maxUploadBytes, scenes: scenes)
    }

    func item(_ id: Int64) throws -> ItemResponse {
        guard let item = try items.entry(id) else {
            throw APIError(status: .notFound, message: "no item with id \(id)")
        }
        return item
    }

    /// The item and the same ground on other dates (one chip per other dated scene covering its centre).
    func itemDetail(_ id: Int64) async throws -> ItemDetail {
        let entry = try item(id)
        let others = try archive.catalog.otherAcquisitions(of: id).map {
            ItemDetail.OtherDate(
                id: $0.id, acquired: $0.acquiredAt.map(AcquisitionDate.isoString),
                scene: URL(fileURLWithPath: $0.scenePath).lastPathComponent, image: "/api/items/\($0.id)/image")
        }
        var address: StreetAddress?
        var addressError: String?
        if let geocoder, let centre = entry.centre {
            do {
                address = try await geocoder.address(longitude: centre[0], latitude: centre[1])
            } catch {
                // The item is still answered; the address is missing, and why.
                addressError = "\(error)"
            }
        }
        return ItemDetail(item: entry, otherDates: others, address: address, addressError: addressError)
    }

    func searchByItem(_ id: Int64, k: Int, filter: SearchFilter) async throws -> SearchResponse {
        let start = Date()
        let query = try item(id)
        let results = try await archive.hits(.item(id), k: k, filter: filter)
        return await response(
            mode: "item", k: k, box: filter.boundingBox, query: query, start: start,
            hits: results.map { ($0.id, $0.score) })
    }

    func searchByImage(_ data: Data, k: Int, filter: SearchFilter) async throws -> SearchResponse {
        let start = Date()
        let vector = try await embedUpload(data, name: "upload")
        let hits = try await archive.hits(vector: vector, k: k, filter: filter)
        return await response(
            mode: "image", k: k, box: filter.boundingBox, query: nil, start: start, hits: hits.map { ($0.id, $0.score) }
        )
    }

    /// Decodes (with the upload pixel limit) and embeds uploaded image bytes off the event loops.
    func embedUpload(_ data: Data, name: String) async throws -> [Float] {
        try await embedding.run { () throws -> [Float] in
            let image: RGBImage
            do {
                image = try ImageDecoder.decode(data: data, name: name, maxSide: Indexer.decodeMaxSide)
            } catch let error as ImageError {
                throw APIError(
                    status: .unsupportedMediaType, message: "the upload is not a readable image: \(error.reason)")
            }
            guard image.width >= Indexer.minimumSide, image.height >= Indexer.minimumSide else {
                throw APIError(
                    status: .unprocessableContent,
                    message:
                        "the image is \(image.width)×\(image.height) px; at least \(Indexer.minimumSide)×\(Indexer.minimumSide) needed"
                )
            }
            return self.archive.model.embed(images: [image])
        }.get()
    }

    func response(
        mode: String, k: Int, box: GeoBox?, query: ItemResponse?, start: Date,
        hits: [(id: Int64, score: Float)], firstRank: Int = 1, regions: [Int64: [Double]] = [:]
    ) async -> SearchResponse {
        // Items of other writers in a shared store: shown with what the store knows of them.
        let unknown = hits.map(\.id).filter { (try? items.entry($0)) == nil }
        if !unknown.isEmpty, let records = try? await archive.store.records(ids: unknown) {
            items.learn(records)
        }
        let results = hits.enumerated().compactMap { rank, hit in
            (try? items.entry(hit.id))?.map {
                ResultEntry(rank: rank + firstRank, score: hit.score, item: $0, region: regions[hit.id])
            }
        }
        return SearchResponse(
            mode: mode, k: k, bbox: box.map { [$0.minLon, $0.minLat, $0.maxLon, $0.maxLat] },
            query: query, tookMs: Date().timeIntervalSince(start) * 1000, results: results,
            itemJSON: items)
    }

    // MARK: - Request parsing

    /// `k` and the filter of a search request: `bbox`, `near` (a place name; `radius_km`, default 25) and
    /// `from`/`to` (dates; a `to` day includes the whole day).
    func kAndFilter(_ request: Request) throws -> (k: Int, filter: SearchFilter) {
        let params = request.uri.queryParameters
        func value(_ name: String) -> String? {
            params[Substring(name)].map { String($0).removingPercentEncoding ?? String($0) }.flatMap {
                $0.isEmpty ? nil : $0
            }
        }
        var k = configuration.defaultK
        if let text = params["k"] {
            guard let value = Int(String(text)), value > 0, value <= configuration.maxK else {
                throw APIError(
                    status: .badRequest,
                    message: "k must be an integer in 1…\(configuration.maxK) (got '\(text.prefix(40))')")
            }
            k = value
        }
        var filter = SearchFilter()
        do {
            filter.boundingBox = try value("bbox").map(GeoBox.parse)
        } catch {
            throw APIError(status: .badRequest, message: "\(error)")
        }
        if let near = value("near").map({ $0.replacingOccurrences(of: "+", with: " ") }) {
            guard near.count <= 200 else {
                throw APIError(status: .badRequest, message: "near: at most 200 characters")
            }
            let radius =
                try value("radius_km").map { text -> Double in
                    guard let km = Double(text), km.isFinite, km > 0, km <= 20_000 else {
                        throw APIError(
                            status: .badRequest, message: "radius_km must be in (0, 20000] (got '\(text.prefix(40))')")
                    }
                    return km
                } ?? 25
            let around: GeoBox
            do {
                around = try archive.box(near: near, radiusKm: radius).box
            } catch let error as PlaceLookupError {
                throw APIError(status: .unprocessableContent, message: "\(error)")
            } catch let error as SearchError {
                throw APIError(status: .notFound, message: "\(error)")
            }
            filter.restrict(to: around)
        }
        func date(_ name: String) throws -> Date? {
            guard let text = value(name) else { return nil }
            guard let parsed = name == "to" ? AcquisitionDate.parseRangeEnd(text) : AcquisitionDate.parse(text) else {
                throw APIError(status: .badRequest, message: "\(name) '\(text.prefix(40))' is not a date (YYYY-MM-DD)")
            }
            return parsed
        }
        let (from, to) = (try date("from"), try date("to"))
        if from != nil || to != nil { filter.acquired = DateRange(from: from, to: to) }
        return (k, filter)
    }

    static func integer(_ text: String?, name: String) throws -> Int64 {
        guard let text, let value = Int64(text), value >= 0 else {
            throw APIError(
                status: .badRequest,
                message: "\(name) must be a non-negative integer (got '\((text ?? "").prefix(40))')")
        }
        return value
    }

    static func size(_ request: Request, default value: Int) throws -> Int {
        guard let text = request.uri.queryParameters["size"] else { return value }
        guard let size = Int(String(text)), (16...2048).contains(size) else {
            throw APIError(status: .badRequest, message: "size must be an integer in 16…2048")
        }
        return size
    }

    /// Reads the upload, enforcing the size cap (Content-Length first, then while streaming) and the upload
    /// deadline (a body trickling in slower than that is answered 408).
    func collect(_ request: inout Request) async -> Result<Data, APIError> {
        let cap = configuration.maxUploadBytes
        let tooLarge = APIError(
            status: .contentTooLarge, message: "upload larger than the \(Self.mebibytes(cap)) limit")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > cap { return .failure(tooLarge) }
        let body = request.body
        let timeout = configuration.uploadTimeoutSeconds
        do {
            let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await body.collect(upTo: cap) }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let buffer = first else {
                    throw APIError(
                        status: .requestTimeout, message: "the upload did not arrive within \(Int(timeout)) s")
                }
                return buffer
            }
            guard buffer.readableBytes > 0 else {
                return .failure(
                    APIError(status: .badRequest, message: "empty upload: send the image bytes as the request body"))
            }
            return .success(Data(buffer.readableBytesView))
        } catch let error as APIError {
            return .failure(error)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return .failure(tooLarge)
        } catch {
            return .failure(APIError(status: .badRequest, message: "the upload could not be read in full (\(error))"))
        }
    }

    /// `20 MiB`, or `512 KiB` / `100 bytes` for small limits.
    static func mebibytes(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    // MARK: - Responses

    /// Runs `body` off the event loop and encodes its value (or error) as JSON.
    func answer<T: Encodable & Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> Response {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        switch result {
        case .success(let value):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let written =
                try? (value as? any JSONWritable).map { try $0.jsonData(encoder: encoder) } ?? encoder.encode(value)
            guard let data = written else { return Self.error(.internalServerError, "encoding failed") }
            return Self.bytes(data, type: "application/json")
        case .failure(let error):
            return Self.error(for: error)
        }
    }

    /// Runs an image-producing `body` off the event loop; answers JPEG/PNG bytes or a JSON error.
    func image(_ body: @escaping @Sendable () throws -> Data) async -> Response {
        switch await rendering.run(body) {
        case .success(let data):
            let type = data.starts(with: [0x89, 0x50, 0x4E, 0x47]) ? "image/png" : "image/jpeg"
            var response = Self.bytes(data, type: type)
            response.headers[.cacheControl] = "max-age=3600"
            return response
        case .failure(let error):
            return Self.error(for: error)
        }
    }

    func asset(_ name: String) -> Response {
        guard let asset = assets.file(name) else { return Self.error(.notFound, "no such file") }
        return Self.bytes(asset.data, type: asset.type)
    }

    static func bytes(_ data: Data, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(for error: any Error) -> Response {
        switch error {
        case let error as APIError: return Self.error(error.status, error.message)
        case let error as ServerBusy:
            var response = Self.error(
                .serviceUnavailable, "the server is busy (all workers and queue slots taken); retry shortly")
            response.headers[.retryAfter] = String(error.retryAfterSeconds)
            return response
        case let error as SearchError:
            if case .notFound(let text) = error { return Self.error(.notFound, text) }
            return Self.error(.badRequest, "\(error)")
        case let error as StoreError: return Self.error(.badRequest, error.description)
        case let error as CollectionError:
            switch error {
            case .unknownCollection, .unknownItems: return Self.error(.notFound, error.description)
            case .nameTaken: return Self.error(.conflict, error.description)
            default: return Self.error(.badRequest, error.description)
            }
        case let error as RenderError: return Self.error(.notFound, error.description)
        case let error as ImageError: return Self.error(.unprocessableContent, error.reason)
        default: return Self.error(.internalServerError, "\(error)")
        }
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = ErrorResponse(error: .init(status: status.code, message: message))
        let data = (try? JSONEncoder().encode(body)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
