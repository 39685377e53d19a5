import SatSeekTensor

/// A window of an image in fractions of its side: `x`, `y` of the top-left corner and the window's
/// `width`, `height`, all in `0…1` of the model's square input frame.
public struct RegionBox: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The cells `lower..<upper` of a `cells`-wide feature map this window covers along one axis (at
    /// least one cell).
    static func cells(start: Double, length: Double, cells: Int) -> Range<Int> {
        let lower = min(cells - 1, max(0, Int((start * Double(cells)).rounded())))
        let upper = max(lower + 1, min(cells, Int(((start + length) * Double(cells)).rounded())))
        return lower..<upper
    }

    /// Pixel rectangle of this window in a `side × side` frame: `(x, y, width, height)`, at least 1 × 1.
    public func pixels(side: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let xs = Self.cells(start: x, length: width, cells: side)
        let ys = Self.cells(start: y, length: height, cells: side)
        return (xs.lowerBound, ys.lowerBound, xs.count, ys.count)
    }
}

/// The windows of a tile whose features are compared with a sketch: the whole frame, then a `2 × 2`
/// grid of windows 0.6 of the side wide, then a `3 × 3` grid 0.45 wide (overlapping, so an object is
/// whole in at least one window of about its size).
public struct RegionGrid: Sendable, Equatable, Codable {
    /// The windows, the whole frame first.
    public var boxes: [RegionBox]

    public init(boxes: [RegionBox]) {
        precondition(!boxes.isEmpty, "RegionGrid: at least one window")
        self.boxes = boxes
    }

    /// Whole frame + 2 × 2 windows of 0.6 + 3 × 3 windows of 0.45: 14 windows.
    public static let standard = RegionGrid(
        boxes: [RegionBox(x: 0, y: 0, width: 1, height: 1)] + grid(2, side: 0.6) + grid(3, side: 0.45))

    /// `n × n` square windows of `side`, spread evenly from edge to edge, row by row.
    public static func grid(_ n: Int, side: Double) -> [RegionBox] {
        let step = n > 1 ? (1 - side) / Double(n - 1) : 0
        return (0..<n).flatMap { row in
            (0..<n).map { column in
                RegionBox(x: Double(column) * step, y: Double(row) * step, width: side, height: side)
            }
        }
    }

    /// Number of windows.
    public var count: Int { boxes.count }
}

extension EfficientNetLite {
    /// Features of image windows from one pass per image: the 1 280-channel head activation (the layer
    /// the image embedding pools) averaged over each window of `grid` and L2-normalised.
    /// - Returns: `count × grid.count × dimensions` floats (image-major, then window).
    public func regionFeatures(_ inputs: UnsafeBufferPointer<Float>, count: Int, grid: RegionGrid) -> [Float] {
        precondition(inputs.count >= count * inputCount, "input buffer smaller than \(count) images")
        let channels = config.headChannels, windows = grid.count
        var output = [Float](repeating: 0, count: count * windows * channels)
        output.withUnsafeMutableBufferPointer { out in
            let outBase = UncheckedSendableBox(out.baseAddress!)
            forEachImage(count: count) { i, workspace, threads in
                let pooled = UnsafeMutablePointer<Float>.allocate(capacity: channels)
                defer { pooled.deallocate() }
                features(
                    inputs.baseAddress! + i * inputCount, into: pooled, workspace: workspace, threads: threads,
                    trace: { name, channels, height, width, activation in
                        guard name == "head" else { return }
                        for (w, box) in grid.boxes.enumerated() {
                            let row = outBase.value + (i * windows + w) * channels
                            let ys = RegionBox.cells(start: box.y, length: box.height, cells: height)
                            let xs = RegionBox.cells(start: box.x, length: box.width, cells: width)
                            let scale = 1 / Float(ys.count * xs.count)
                            for c in 0..<channels {
                                let plane = activation + c * height * width
                                var sum: Float = 0
                                for y in ys { for x in xs { sum += plane[y * width + x] } }
                                row[c] = sum * scale
                            }
                            l2Normalize(UnsafeMutableBufferPointer(start: row, count: channels))
                        }
                    })
            }
        }
        return output
    }
}
