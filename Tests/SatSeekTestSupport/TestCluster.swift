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
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(
            "satseek-pg-\(label)-\(UUID().uuidString.prefix(8))")
        let started = run("start", directory)
        defer {
            _ = run("stop", directory)
            try? FileManager.default.removeItem(at: directory)
        }
        let url = started.output.split(separator: "\n").last.map(String.init) ?? ""
        guard started.status == 0, url.hasPrefix("postgres://") else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_POSTGRES"] == "1" {
                Issue.record(
                    "scripts/postgres-cluster.sh could not start a cluster (exit \(started.status)):\n\(started.output)\(started.errors)"
                )
            }
            return
        }
        try await body(url)
    }

    /// Runs the script with its output in files, waiting with `waitpid` (Foundation's `Process.waitUntilExit`
    /// can miss the exit of a script that leaves a daemon behind).
    private static func run(_ command: String, _ directory: URL) -> (status: Int32, output: String, errors: String) {
        let base = directory.path + ".\(command)"
        let script = repositoryRoot.appendingPathComponent("scripts/postgres-cluster.sh").path
        let line = "exec /bin/bash '\(script)' \(command) '\(directory.path)' >'\(base).out' 2>'\(base).err' </dev/null"
        var pid: pid_t = 0
        let arguments: [String] = ["/bin/bash", "-c", line]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ)
        guard spawned == 0 else { return (-1, "", "posix_spawn failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : -1, output, errors)
    }
}
