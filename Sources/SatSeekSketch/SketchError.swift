/// Errors of the sketch path, each naming what was wrong.
public enum SketchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The sketch has no strokes (blank or uniform canvas).
    case empty(String)
    /// The model cannot produce sketch-domain features.
    case unsupportedModel(String)

    /// The message, for the command line.
    public var description: String {
        switch self {
        case .empty(let message), .unsupportedModel(let message): return message
        }
    }
}
