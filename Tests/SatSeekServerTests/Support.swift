import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Testing
@_exported import SatSeekTestSupport
import SatSeekCatalog
import SatSeekGeo
import SatSeekModels
import SatSeekSearch
@testable import SatSeekServer

let naipScene = sharedData.appendingPathComponent("geotiff/naip_m_4709963_se_14_1_20090818.tif").path
let landsatScene = sharedData.appendingPathComponent("geotiff/landsat_2000.tif").path

/// One index shared by the API and browser tests: 12 NAIP chips (UTM 14N), 3 Landsat chips (EPSG:4326) and
/// 4 plain aid-mini images, served by a real server on 127.0.0.1 with a free port.
final class ServerFixture: Sendable {
    let folder: URL
    let db: String
    let port: Int
    let session: SearchSession
    /// The server behind `port`; ``call(_:method:body:contentType:)`` runs its routes in process.
    let server: SatSeekServer
    var base: String { "http://127.0.0.1:\(port)" }

    /// Built once per test process; awaiting it never blocks a thread of the cooperative pool (the server
    /// task needs one to start).
    static func shared() async throws -> ServerFixture { try await store.get() }
    private static let store = FixtureStore()

    fileprivate init(port: Int, folder: URL, db: String, session: SearchSession, server: SatSeekServer) {
        self.server = server
        self.port = port
        self.folder = folder
        self.db = db
        self.session = session
    }

    fileprivate static func make() async throws -> ServerFixture {
        let folder = try temporaryFolder("server")
        let db = folder.appendingPathComponent("fixture.satseek").path
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)
        let indexer = try SceneIndexer(
            catalog: session.catalog, model: session.model,
            options: SceneTilingOptions(tile: 224))
        for scene in [naipScene, landsatScene] {
            let report = try indexer.index(scene)
            guard report.failures.isEmpty else { throw SearchError.invalidInput("fixture: \(report.failures)") }
        }
        let images = folder.appendingPathComponent("images")
        for name in ["Airport", "Beach"] {
            let source = sharedData.appendingPathComponent("datasets/aid-mini/\(name)")
            let files = try FileManager.default.contentsOfDirectory(atPath: source.path).sorted().prefix(2)
            try FileManager.default.createDirectory(
                at: images.appendingPathComponent(name), withIntermediateDirectories: true)
            for file in files {
                try FileManager.default.copyItem(
                    at: source.appendingPathComponent(file),
                    to: images.appendingPathComponent(name).appendingPathComponent(file))
            }
        }
        _ = try session.indexer().index(images.path)

        let server = try SatSeekServer(
            session: session, configuration: ServerConfiguration(port: 0, maxUploadBytes: 8 << 20))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        Task.detached { try await server.run { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw SearchError.invalidInput("fixture: server did not start") }
        return ServerFixture(port: port, folder: folder, db: db, session: session, server: server)
    }

    /// One request through the server's routes in process (HummingbirdTesting's router framework: no socket),
    /// where a real connection adds nothing to what a test checks.
    func call(
        _ path: String, method: String = "GET", body: Data? = nil, contentType: String? = nil
    ) async throws -> HTTPAnswer {
        try await callRoute(server, path, method: method, body: body, contentType: contentType)
    }

    /// Ids of the NAIP chips.
    func naipChipIDs() throws -> [Int64] {
        let all = try session.catalog.allRecords()
        return all.filter { $0.path.contains("naip_") }.compactMap(\.id)
    }
}

/// One request through `server`'s routes in process (HummingbirdTesting's router framework: no socket).
func callRoute(
    _ server: SatSeekServer, _ path: String, method: String = "GET", body: Data? = nil, contentType: String? = nil
) async throws -> HTTPAnswer {
    let application = Application(router: server.makeRouter())
    return try await application.test(.router) { client in
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        let verb = try #require(HTTPRequest.Method(method))
        let response = try await client.execute(
            uri: path, method: verb, headers: headers,
            body: body.map { ByteBuffer(bytes: $0) })
        return HTTPAnswer(
            status: Int(response.status.code), body: Data(response.body.readableBytesView),
            contentType: response.headers[.contentType] ?? "")
    }
}

/// Builds the fixture once and hands the same instance to every test.
actor FixtureStore {
    private var task: Task<ServerFixture, any Error>?
    func get() async throws -> ServerFixture {
        if task == nil { task = Task { try await ServerFixture.make() } }
        return try await task!.value
    }
}

/// A finished HTTP exchange.
struct HTTPAnswer {
    let status: Int
    let body: Data
    let contentType: String
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }
}

/// Sends one request with URLSession (no caching, 300 s timeout: under CI's parallel load — Postgres clusters,
/// Chromium, every suite at once — a first text query that loads MiniLM has taken past 120 s).
func http(
    _ url: String, method: String = "GET", body: Data? = nil, contentType: String? = nil
) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 300)
    request.httpMethod = method
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    let (data, response): (Data, URLResponse)
    if let body {
        (data, response) = try await URLSession.shared.upload(for: request, from: body)
    } else {
        (data, response) = try await URLSession.shared.data(for: request)
    }
    let http = try #require(response as? HTTPURLResponse)
    return HTTPAnswer(
        status: http.statusCode, body: data,
        contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "")
}

/// Runs a program and returns its exit status and combined output.
@discardableResult
func runProcess(
    _ executable: String, _ arguments: [String], timeout: Double = 120
) async throws -> (status: Int32, output: String) {
    let run = try await runChild(executable, arguments, timeout: timeout)
    return (run.status, run.stdout + run.stderr)
}
