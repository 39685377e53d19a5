import Foundation

/// One candidate image file found under an archive folder.
public struct ImageFile: Sendable, Equatable {
    /// Absolute, standardised path.
    public let path: String
    /// The parent folder's name: the class label in class-folder datasets (UCMD, AID, PatternNet).
    public let className: String
}

/// Finds image files under a folder (recursively, sorted, hidden files skipped).
///
/// Selection is by extension only; whether a file really decodes is decided later, so a text file named
/// `.tif` is reported as a bad image rather than silently ignored.
public enum DatasetScanner {
    /// `count` of `items` spread evenly over them (`items[i · n / count]`; all of them when there are no more), so
    /// that every class folder of a sorted listing contributes.
    public static func evenlySpread<T>(_ items: [T], count: Int) -> [T] {
        guard items.count > count, count > 0 else { return items }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff", "bmp", "gif", "webp", "jp2"]

    /// - Parameter root: A folder (walked recursively) or a single image file.
    public static func scan(_ root: String) throws -> [ImageFile] {
        try scan(root, skipped: { _, _ in })
    }

    /// Like ``scan(_:)``, and tells `skipped` (path, reason) about every folder it could not read and every
    /// entry whose name is not valid UTF-8 (so it cannot be named, opened or stored), instead of passing over
    /// them without a word.
    public static func scan(_ root: String, skipped: (String, String) -> Void) throws -> [ImageFile] {
        let url = URL(fileURLWithPath: root).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SearchError.invalidInput("\(url.path): no such file or folder")
        }
        if !isDirectory.boolValue { return [file(url)] }
        var unreadable: [(String, String)] = []
        guard
            let walker = FileManager.default.enumerator(
                at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles],
                errorHandler: { failed, error in
                    unreadable.append((failed.path, "cannot read folder (\((error as NSError).localizedDescription))"))
                    return true
                })
        else {
            throw SearchError.invalidInput("\(url.path): cannot list folder")
        }
        var files: [ImageFile] = []
        for case let item as URL in walker {
            let name = item.lastPathComponent
            if name.unicodeScalars.contains("\u{FFFD}") || !FileManager.default.fileExists(atPath: item.path) {
                skipped(item.path, "the file name is not valid UTF-8; rename it to index it")
                continue
            }
            guard imageExtensions.contains(item.pathExtension.lowercased()) else { continue }
            if (try? item.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append(file(item.standardizedFileURL))
            }
        }
        // Folders the walk could not enter (permissions) are reported too: their images were not indexed.
        for (path, reason) in unreadable { skipped(path, reason) }
        for item in try unreadableFolders(under: url) where !unreadable.contains(where: { $0.0 == item }) {
            skipped(item, "cannot read folder (permission denied)")
        }
        return files.sorted { $0.path < $1.path }
    }

    /// Sub-folders that exist but cannot be listed (Foundation's enumerator skips them on some platforms
    /// without calling its error handler).
    private static func unreadableFolders(under root: URL) throws -> [String] {
        var result: [String] = []
        var stack = [root.path]
        while let folder = stack.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                if folder != root.path { result.append(folder) }
                continue
            }
            for name in names where !name.hasPrefix(".") {
                let path = folder + "/" + name
                // lstat: symbolic links are not followed (as the enumerator does not), so a link loop ends here.
                if (try? FileManager.default.attributesOfItem(atPath: path)[.type]) as? FileAttributeType
                    == .typeDirectory
                {
                    stack.append(path)
                }
            }
        }
        return result.sorted()
    }

    static func file(_ url: URL) -> ImageFile {
        ImageFile(path: url.path, className: url.deletingLastPathComponent().lastPathComponent)
    }
}
