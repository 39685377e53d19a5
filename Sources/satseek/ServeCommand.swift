import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekServer

/// `satseek serve`: the JSON API and browser UI over one index.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the search API and the browser UI (map, results grid) for an index.",
        discussion: """
            Open http://HOST:PORT/ in a browser. The OpenAPI description is at /openapi.json.
              satseek serve --db sample.satseek --port 8080
            """)

    @OptionGroup var options: IndexOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Interface to listen on (127.0.0.1 = this machine only; 0.0.0.0 = all).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one).")
    var port = 8080

    @Option(help: "Largest accepted upload, in MiB.")
    var maxUploadMB = 20

    @Option(help: "Folder holding Leaflet (Debian package libjs-leaflet).")
    var leaflet = "/usr/share/javascript/leaflet"

    @Option(help: "Open connections at most (more clients wait for one to close).")
    var maxConnections = 256

    @Option(help: "Seconds a connection may idle, or take to send a request head, before it is closed.")
    var idleTimeout = 30.0

    @Option(help: "Seconds an upload body may take to arrive (slower: 408).")
    var uploadTimeout = 60.0

    @Option(help: "Uploads decoded and embedded at once (default: one per core).")
    var embeddingWorkers = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Uploads that may wait for a worker; beyond that the server answers 503 with Retry-After.")
    var embeddingQueue = 8

    @Option(
        help: ArgumentHelp(
            "An OpenStreetMap Nominatim server for street addresses in the item view (e.g. https://nominatim.openstreetmap.org); none by default.",
            valueName: "URL"))
    var geocoder: String?

    func validate() throws {
        if let geocoder {
            guard let url = URL(string: geocoder), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--geocoder must be an http(s) URL, got '\(geocoder)'")
            }
        }
        guard (0...65_535).contains(port) else {
            throw ValidationError("--port must be in 0…65535 (0 picks a free port), got \(port)")
        }
        guard maxUploadMB >= 1 else { throw ValidationError("--max-upload-mb must be at least 1") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard idleTimeout > 0, uploadTimeout > 0 else {
            throw ValidationError("--idle-timeout and --upload-timeout must be positive numbers of seconds")
        }
        guard embeddingWorkers >= 1, embeddingQueue >= 0 else {
            throw ValidationError("--embedding-workers must be at least 1 and --embedding-queue at least 0")
        }
    }

    func run() async throws {
        // A parent may have spawned us with SIGTERM/SIGINT blocked (e.g. Foundation's Process): unblock them
        // so that `kill` and Ctrl-C reach the service lifecycle, which shuts the server down gracefully.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let (host, db) = (self.host, options.db)
        var configuration = ServerConfiguration(
            host: host, port: port, maxUploadBytes: maxUploadMB << 20,
            leafletDirectory: leaflet, maxConnections: maxConnections,
            idleTimeoutSeconds: idleTimeout, uploadTimeoutSeconds: uploadTimeout,
            embeddingWorkers: embeddingWorkers, embeddingQueue: embeddingQueue)
        configuration.geocoder = geocoder.flatMap(URL.init(string:))
        try await runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.modelSpec, create: false)
            try await storeOptions.withArchive(session) { archive in
                let server = try SatSeekServer(archive: archive, configuration: configuration)
                try await server.runService { port in
                    printError("serving \(db) on http://\(host):\(port)/  (API: /openapi.json)")
                }
            }
        }
    }
}
