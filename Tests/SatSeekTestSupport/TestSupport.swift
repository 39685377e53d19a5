import Foundation
import Testing
import SatSeekModels

/// Shared helpers of SatSeek's test targets: where the repository and the shared data are, temporary
/// folders, model availability, and a throw-away PostgreSQL cluster.

/// The repository root (three levels above this file).
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The shared read-only data folder (`../shared` beside the repository).
public let sharedData = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

/// Whether the named model's weights are installed; records a failure when SATSEEK_REQUIRE_MODELS=1, so a
/// CI run without weights fails instead of passing silently.
public func modelAvailable(_ name: String = ModelStore.defaultModel) -> Bool {
    let store = ModelStore()
    if let entry = try? ModelStore.entry(named: name), store.checkpoint(for: entry) != nil { return true }
    if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
        Issue.record("weights for \(name) are not installed in \(store.directory.path); run `satseek models install \(name)`")
    }
    return false
}

/// Whether the named model's weights are installed (no side effects; for `.enabled(if:)`).
public func modelInstalled(_ name: String) -> Bool {
    let store = ModelStore()
    guard let entry = try? ModelStore.entry(named: name) else { return false }
    return store.checkpoint(for: entry) != nil
}

/// Whether the default model's weights are installed. Tests that need them are declared
/// `.enabled(if: weightsInstalled)`, so a run without weights shows them as skipped; CI sets
/// SATSEEK_REQUIRE_MODELS=1, where `RequiredWeightsTests` fails instead.
public let weightsInstalled = modelInstalled(ModelStore.defaultModel)

/// A fresh temporary folder, removed by the caller.
public func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("satseek-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}


/// Runs blocking work (a child process, a sleep, a semaphore) on a thread of its own and awaits it.
///
/// Swift Testing runs tests on the cooperative thread pool, which has one thread per core (two on a CI
/// machine). A test that blocks one of those threads for seconds starves every other test's async work — a
/// fixture server's handlers among them — so blocking test code goes through here instead.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}
