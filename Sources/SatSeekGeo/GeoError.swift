import Foundation

/// Errors of scene tiling and rendering; every message names the file.
public enum GeoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The raster cannot be opened or read.
    case unreadable(path: String, reason: String)
    /// An option does not fit the raster (band out of range, tile larger than the scene, …).
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): \(reason)"
        case .invalidOption(let text): return text
        }
    }
}
