import Foundation
import ZIPFoundation

/// Reads `torch.save` files of torch ≥ 1.6: a zip with `<archive>/data.pkl` (the object, storages as
/// persistent ids `('storage', <torch.XStorage>, key, location, numel)`) and `<archive>/data/<key>`
/// (raw little-endian storage bytes, stored uncompressed). The archive folder name varies.
enum TorchZipReader {
    static func read(url: URL, fileSize: Int) throws -> Checkpoint {
        let mapped = try Data(contentsOf: url, options: .alwaysMapped)
        if let problem = ZipPreflight.problem(in: mapped) {
            throw CheckpointError.malformed(url, detail: "zip directory: \(problem)")
        }
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw CheckpointError.truncated(
                url,
                detail: "the zip directory cannot be read (\(error)); "
                    + "the file is cut short or damaged")
        }
        var entries: [String: Entry] = [:]
        for entry in archive where entry.type == .file {
            entries[entry.path] = entry
        }
        // data.pkl closest to the root names the archive folder ("archive/", "model/", "" …).
        let pickles = entries.keys.filter { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }
        guard let picklePath = pickles.min(by: { ($0.count, $0) < ($1.count, $1) }) else {
            throw CheckpointError.notACheckpoint(url, detail: "a zip archive without data.pkl")
        }
        let folder = String(picklePath.dropLast("data.pkl".count))

        if let byteOrder = entries[folder + "byteorder"] {
            let text = String(
                decoding: try extract(byteOrder, from: archive, fileSize: fileSize, url: url), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) != "big" else {
                throw CheckpointError.malformed(url, detail: "big-endian checkpoints are not supported")
            }
        }

        let pickle = try extract(entries[picklePath]!, from: archive, fileSize: fileSize, url: url)
        let (root, declared) = try pickle.withUnsafeBytes { raw in
            var machine = PickleMachine(bytes: raw, at: 0, url: url, context: picklePath)
            let root = try machine.run()
            return (root, machine.storages)
        }

        var storages: [String: Data] = [:]
        for (key, storage) in declared {
            let path = folder + "data/" + key
            guard let entry = entries[path] else {
                throw CheckpointError.malformed(url, detail: "storage '\(key)' (\(path)) is missing from the archive")
            }
            let (needed, overflow) = storage.numel.multipliedReportingOverflow(by: storage.dtype.byteWidth)
            guard !overflow, entry.uncompressedSize >= UInt64(needed) else {
                throw CheckpointError.truncated(
                    url,
                    detail: "storage '\(key)' needs \(needed) bytes, "
                        + "only \(entry.uncompressedSize) stored in \(path)")
            }
            storages[key] = try extract(entry, from: archive, fileSize: fileSize, url: url)
        }
        let tensors = try TorchObjects.tensors(in: root, storages: storages, url: url)
        return Checkpoint(url: url, format: .torchZip, tensors: tensors)
    }

    /// Most bytes a compressed entry may inflate to. torch stores entries uncompressed; a re-zipped checkpoint
    /// is allowed to inflate to this much, a zip bomb is refused before it is inflated.
    static let maximumInflatedBytes: UInt64 = 4 << 30

    /// Thrown from the extraction callback to stop inflating an entry that outgrows what it declared.
    private struct Overrun: Error {}

    /// The entry's bytes (one copy; torch stores entries uncompressed, so no inflating). What the entry
    /// declares is checked before anything is read, and inflating stops at the first byte beyond it.
    private static func extract(_ entry: Entry, from archive: Archive, fileSize: Int, url: URL) throws -> Data {
        let declared = entry.uncompressedSize
        if entry.isCompressed {
            // Deflate cannot expand more than 1032:1, so a larger declaration is a lie.
            let (possible, overflow) = entry.compressedSize.multipliedReportingOverflow(by: 1032)
            guard declared <= maximumInflatedBytes, overflow || declared <= possible + 1024 else {
                throw CheckpointError.malformed(
                    url,
                    detail: "compressed entry '\(entry.path)' declares \(declared) "
                        + "bytes from \(entry.compressedSize) compressed; refusing to inflate more than "
                        + "\(min(maximumInflatedBytes, possible + 1024)) bytes")
            }
        } else {
            guard declared <= UInt64(fileSize) else {
                throw CheckpointError.truncated(
                    url,
                    detail: "entry '\(entry.path)' needs \(declared) "
                        + "bytes, the whole file has \(fileSize)")
            }
        }
        var data = Data(capacity: Int(min(declared, UInt64(fileSize))))
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: true) { chunk in
                guard UInt64(data.count + chunk.count) <= declared else { throw Overrun() }
                data.append(chunk)
            }
        } catch is Overrun {
            throw CheckpointError.malformed(
                url,
                detail: "entry '\(entry.path)' inflates to more than the "
                    + "\(declared) bytes it declares (stopped there)")
        } catch {
            throw CheckpointError.truncated(url, detail: "entry '\(entry.path)' cannot be read (\(error))")
        }
        guard UInt64(data.count) == declared else {
            throw CheckpointError.truncated(
                url,
                detail: "entry '\(entry.path)' needs \(declared) "
                    + "bytes, only \(data.count) available")
        }
        return data
    }
}
