import Foundation
import SatSeekCatalog

/// Where a chip lies: its polygon (closed ring of `[lon, lat]` in EPSG:4326) and that ring's bounding box.
public struct GeoFootprint: Sendable, Codable, Equatable {
    /// Closed ring: first point repeated last; corners in pixel order top-left, top-right, bottom-right,
    /// bottom-left, with edge midpoints between them (so curved projections stay close).
    public var ring: [[Double]]
    /// Bounding box of ``ring``.
    public var bbox: GeoBox

    /// Creates a footprint from a ring; `nil` for an empty ring.
    public init?(ring: [[Double]]) {
        guard let box = GeoBox(points: ring) else { return nil }
        self.ring = ring
        self.bbox = box
    }
}

/// A rectangle of pixels in a raster (column `x`, row `y`, both from the top-left).
public struct PixelWindow: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    /// Creates a window.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// `x,y,width,height`.
    public var description: String { "\(x),\(y),\(width),\(height)" }
}
