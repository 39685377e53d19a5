import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekServer

/// `satseek serve`: the JSON API and browser UI over one index.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the search API and the browser UI (map, results grid) for an index.",
        discussion: """
        Open http://HOST:PORT/ in a browser. The OpenAPI description is at /openapi.json.
          satseek serve --db sample.satseek --port 8080
        """)

    @OptionGroup var options: IndexOptions

    @Option(help: "Interface to listen on (127.0.0.1 = this machine only; 0.0.0.0 = all).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one).")
    var port = 8080

    @Option(help: "Largest accepted upload, in MiB.")
    var maxUploadMB = 20

    @Option(help: "Folder holding Leaflet (Debian package libjs-leaflet).")
    var leaflet = "/usr/share/javascript/leaflet"

    func run() throws {
        // A parent may have spawned us with SIGTERM/SIGINT blocked (e.g. Foundation's Process): unblock
        // them so that `kill` and Ctrl-C stop the server (its state is read-only; nothing to flush).
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        let server: SatSeekServer
        do {
            let session = try SearchSession(db: options.db, model: options.model, create: false)
            server = try SatSeekServer(session: session, configuration: ServerConfiguration(
                host: host, port: port, maxUploadBytes: max(1, maxUploadMB) << 20, leafletDirectory: leaflet))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let (host, db) = (self.host, options.db)
        // The root command is synchronous: run the async server on a task and wait for it here.
        let done = DispatchSemaphore(value: 0)
        let outcome = ServeOutcome()
        Task.detached {
            do {
                try await server.run { port in
                    printError("serving \(db) on http://\(host):\(port)/  (API: /openapi.json)")
                }
            } catch {
                outcome.set(error)
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// The server task's error, handed back to the waiting command.
private final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    func set(_ error: any Error) { lock.withLock { stored = error } }
    var error: (any Error)? { lock.withLock { stored } }
}
