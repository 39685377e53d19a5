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

    func run() async throws {
        // A parent may have spawned us with SIGTERM/SIGINT blocked (e.g. Foundation's Process): unblock them
        // so that `kill` and Ctrl-C reach the service lifecycle, which shuts the server down gracefully.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let (host, db) = (self.host, options.db)
        let configuration = ServerConfiguration(host: host, port: port, maxUploadBytes: max(1, maxUploadMB) << 20,
                                                leafletDirectory: leaflet)
        try await runReportingErrors {
            let session = try SearchSession(db: options.db, model: options.model, create: false)
            try await storeOptions.withArchive(session) { archive in
                let server = try SatSeekServer(archive: archive, configuration: configuration)
                try await server.runService { port in
                    printError("serving \(db) on http://\(host):\(port)/  (API: /openapi.json)")
                }
            }
        }
    }
}
