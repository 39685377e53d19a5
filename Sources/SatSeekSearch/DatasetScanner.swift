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
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff", "bmp", "gif", "webp", "jp2"]

    /// - Parameter root: A folder (walked recursively) or a single image file.
    public static func scan(_ root: String) throws -> [ImageFile] {
        let url = URL(fileURLWithPath: root).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SearchError.invalidInput("\(url.path): no such file or folder")
        }
        if !isDirectory.boolValue { return [file(url)] }
        guard let walker = FileManager.default.enumerator(
            at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            throw SearchError.invalidInput("\(url.path): cannot list folder")
        }
        var files: [ImageFile] = []
        for case let item as URL in walker where imageExtensions.contains(item.pathExtension.lowercased()) {
            if (try? item.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append(file(item.standardizedFileURL))
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    static func file(_ url: URL) -> ImageFile {
        ImageFile(path: url.path, className: url.deletingLastPathComponent().lastPathComponent)
    }
}

/// Errors of the search layer, each naming what was wrong.
public enum SearchError: Error, CustomStringConvertible, Sendable {
    case invalidInput(String)
    case notFound(String)

    public var description: String {
        switch self {
        case let .invalidInput(message), let .notFound(message): return message
        }
    }
}
