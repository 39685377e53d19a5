import Foundation

/// A bounding box that could not be parsed or is out of range.
public struct GeoBoxError: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid bbox \(reason)" }
}
