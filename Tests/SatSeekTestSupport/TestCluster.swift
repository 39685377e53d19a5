import Foundation
import Testing

/// A throw-away PostgreSQL + pgvector cluster started with scripts/postgres-cluster.sh.
public struct TestCluster {
    let directory: URL
    let url: String

    /// Runs `body` with the URL of a fresh cluster and always stops the cluster afterwards.
    ///
    /// When the cluster cannot start (no pip, no network to PyPI, …) the test is skipped quietly,
    /// unless `SATSEEK_REQUIRE_POSTGRES=1`, where it records an issue with the script's output.
    public static func with(_ label: String, _ body: (String) async throws -> Void) async throws {
        try await started(label, command: "start") { urls in try await body(urls[urls.count - 1]) }
    }

    /// Like ``with(_:_:)`` for a coordinator and `workers` worker servers (`postgres-cluster.sh start-sharded`):
    /// `body` gets the coordinator's URL and the workers'.
    public static func withSharded(
        _ label: String, workers: Int = 2, _ body: (String, [String]) async throws -> Void
    ) async throws {
        try await started(label, command: "start-sharded", extra: [String(workers)]) { urls in
            guard urls.count == workers + 1 else {
                Issue.record("start-sharded printed \(urls.count) URLs, expected \(workers + 1)")
                return
            }
            try await body(urls[workers], Array(urls.prefix(workers)))
        }
    }

    private static func started(
        _ label: String, command: String, extra: [String] = [], _ body: ([String]) async throws -> Void
    ) async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(
            "satseek-pg-\(label)-\(UUID().uuidString.prefix(8))")
        let started = await run(command, directory, extra)
        do {
            let urls = started.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("postgres://") }
            guard started.status == 0, !urls.isEmpty else {
                if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_POSTGRES"] == "1" {
                    Issue.record(
                        "scripts/postgres-cluster.sh could not start a cluster (exit \(started.status)):\n\(started.stdout)\(started.stderr)"
                    )
                }
                await stop(directory)
                return
            }
            try await body(urls)
        } catch {
            await stop(directory)
            throw error
        }
        await stop(directory)
    }

    /// Stops the cluster and removes its folder.
    private static func stop(_ directory: URL) async {
        _ = await run("stop", directory)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs the script through ``runChild(_:_:timeout:)`` (output in files, reaped with `waitpid`: Foundation's
    /// `Process.waitUntilExit` can miss the exit of a script that leaves a daemon behind), on a thread of its own.
    private static func run(_ command: String, _ directory: URL, _ extra: [String] = []) async -> ChildResult {
        let script = repositoryRoot.appendingPathComponent("scripts/postgres-cluster.sh").path
        do {
            return try await runChild("/bin/bash", [script, command, directory.path] + extra, timeout: 3600)
        } catch {
            return ChildResult(status: -1, stdout: "", stderr: "\(error)")
        }
    }
}
