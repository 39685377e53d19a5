import Foundation
@testable import SatSeekCatalog

/// A fresh temporary folder, removed by `cleanup()`.
struct TempFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("satseek-catalog-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Absolute path of `name` inside the folder.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A record for `path` with plausible fields.
func makeRecord(
    _ path: String, hash: String = "00000000000000aa", model: String = "toy-model",
    size: Int64 = 1234
) -> ImageRecord {
    ImageRecord(
        path: path, className: ImageRecord.className(forPath: path), width: 256, height: 256,
        byteSize: size, modifiedAt: 1_700_000_000, contentHash: hash, modelID: model,
        addedAt: 1_700_000_100)
}

/// Runs `body` and returns the ``CatalogError`` it threw, or `nil`.
func catalogError(_ body: () throws -> Void) -> CatalogError? {
    do {
        try body()
        return nil
    } catch let error as CatalogError {
        return error
    } catch {
        return nil
    }
}
