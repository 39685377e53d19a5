import SatSeekImaging

/// A single-channel floating-point image, rows top to bottom (`pixels[y * width + x]`).
public struct GrayImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Samples, `pixels[y * width + x]`.
    public var pixels: [Float]

    /// - Precondition: `pixels.count == width * height`.
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(
            width >= 0 && height >= 0 && pixels.count == width * height,
            "GrayImage: \(pixels.count) samples for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Luma (ITU-R BT.601 weights) of an RGB image, 0…255.
    public init(_ image: RGBImage) {
        var pixels = [Float](repeating: 0, count: image.width * image.height)
        image.pixels.withUnsafeBufferPointer { rgb in
            for i in pixels.indices {
                pixels[i] = 0.299 * Float(rgb[3 * i]) + 0.587 * Float(rgb[3 * i + 1]) + 0.114 * Float(rgb[3 * i + 2])
            }
        }
        self.init(width: image.width, height: image.height, pixels: pixels)
    }

    /// The value at (`x`, `y`) with coordinates clamped to the image (replicated border).
    @inline(__always)
    func clamped(_ x: Int, _ y: Int) -> Float {
        pixels[min(max(y, 0), height - 1) * width + min(max(x, 0), width - 1)]
    }
}

/// A binary image: `true` = ink (a stroke or an edge pixel), rows top to bottom.
public struct BinaryMask: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Ink flags, `bits[y * width + x]`.
    public var bits: [Bool]

    /// An empty (all background) mask.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, bits: [Bool](repeating: false, count: width * height))
    }

    /// - Precondition: `bits.count == width * height`.
    public init(width: Int, height: Int, bits: [Bool]) {
        precondition(
            width >= 0 && height >= 0 && bits.count == width * height,
            "BinaryMask: \(bits.count) bits for \(width)×\(height)")
        self.width = width
        self.height = height
        self.bits = bits
    }

    /// Ink at (`x`, `y`); `false` outside the mask.
    public subscript(x: Int, y: Int) -> Bool {
        get { x >= 0 && y >= 0 && x < width && y < height && bits[y * width + x] }
        set { if x >= 0 && y >= 0 && x < width && y < height { bits[y * width + x] = newValue } }
    }

    /// Number of ink pixels.
    public var inkCount: Int { bits.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Smallest rectangle holding all ink as `(minX, minY, maxX, maxY)` (inclusive), `nil` when empty.
    public var inkBounds: (minX: Int, minY: Int, maxX: Int, maxY: Int)? {
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            for x in 0..<width where bits[y * width + x] {
                minX = min(minX, x); maxX = max(maxX, x)
                minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        return maxX < 0 ? nil : (minX, minY, maxX, maxY)
    }

    /// Dark strokes on white: ink → 0, background → 255, grey replicated into RGB.
    public func rendered() -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for i in bits.indices where bits[i] {
            pixels[3 * i] = 0; pixels[3 * i + 1] = 0; pixels[3 * i + 2] = 0
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Intersection over union of the ink of two masks of the same size (1 when both are empty).
    public func intersectionOverUnion(_ other: BinaryMask) -> Double {
        precondition(width == other.width && height == other.height, "IoU of masks of different sizes")
        var both = 0, either = 0
        for i in bits.indices {
            if bits[i] && other.bits[i] { both += 1 }
            if bits[i] || other.bits[i] { either += 1 }
        }
        return either == 0 ? 1 : Double(both) / Double(either)
    }
}

// MARK: - Morphology

extension BinaryMask {
    /// Offsets of the 8 neighbours in clockwise order starting north (P2…P9 of Zhang & Suen).
    static let ring: [(dx: Int, dy: Int)] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)]

    /// One-pixel-wide skeleton (Zhang & Suen 1984, with the diagonal clean-up of Lam et al. so that
    /// staircase pixels are removed too): strokes of any width become 8-connected centre lines.
    public func thinned() -> BinaryMask {
        var mask = self
        var changed = true
        var remove: [Int] = []
        while changed {
            changed = false
            for pass in 0..<2 {
                remove.removeAll(keepingCapacity: true)
                for y in 0..<height {
                    for x in 0..<width where mask.bits[y * width + x] {
                        // Bit k set = neighbour k of the clockwise ring (0 = N, 2 = E, 4 = S, 6 = W) is ink.
                        var p = 0
                        for k in 0..<8 where mask[x + Self.ring[k].dx, y + Self.ring[k].dy] { p |= 1 << k }
                        let neighbours = p.nonzeroBitCount
                        guard neighbours >= 2 && neighbours <= 6 else { continue }
                        var transitions = 0
                        for k in 0..<8 where p & (1 << k) == 0 && p & (1 << ((k + 1) % 8)) != 0 { transitions += 1 }
                        guard transitions == 1 else { continue }
                        let (n, e, s, w) = (p & 1 != 0, p & 4 != 0, p & 16 != 0, p & 64 != 0)
                        if pass == 0 {
                            guard !(n && e && s) && !(e && s && w) else { continue }
                        } else {
                            guard !(n && e && w) && !(n && s && w) else { continue }
                        }
                        remove.append(y * width + x)
                    }
                }
                for i in remove { mask.bits[i] = false }
                if !remove.isEmpty { changed = true }
            }
        }
        // Staircase clean-up: drop a pixel whose two 4-neighbours at a right angle are both ink, when
        // it is not needed to keep those connected (the opposite corner is background).
        for y in 0..<height {
            for x in 0..<width where mask.bits[y * width + x] {
                let n = mask[x, y - 1], e = mask[x + 1, y], s = mask[x, y + 1], w = mask[x - 1, y]
                let corner =
                    (n && e && !mask[x - 1, y + 1] && !s && !w)
                    || (e && s && !mask[x - 1, y - 1] && !n && !w)
                    || (s && w && !mask[x + 1, y - 1] && !n && !e)
                    || (w && n && !mask[x + 1, y + 1] && !s && !e)
                if corner { mask.bits[y * width + x] = false }
            }
        }
        return mask
    }

    /// Every ink pixel grown into a disc of `radius` pixels (Euclidean; radius 0 = unchanged), i.e.
    /// one-pixel lines become strokes `2·radius + 1` pixels wide.
    public func dilated(radius: Int) -> BinaryMask {
        guard radius > 0 else { return self }
        var offsets: [(Int, Int)] = []
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= radius * radius + radius / 2 {
                offsets.append((dx, dy))
            }
        }
        var out = BinaryMask(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width where bits[y * width + x] {
                for (dx, dy) in offsets { out[x + dx, y + dy] = true }
            }
        }
        return out
    }

    /// 8-connected components as lists of pixel indices.
    public func components() -> [[Int]] {
        var seen = [Bool](repeating: false, count: bits.count)
        var result: [[Int]] = []
        var stack: [Int] = []
        for start in bits.indices where bits[start] && !seen[start] {
            var component: [Int] = []
            seen[start] = true
            stack.append(start)
            while let i = stack.popLast() {
                component.append(i)
                let x = i % width, y = i / width
                for o in Self.ring {
                    let nx = x + o.dx, ny = y + o.dy
                    guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                    let j = ny * width + nx
                    if bits[j] && !seen[j] { seen[j] = true; stack.append(j) }
                }
            }
            result.append(component)
        }
        return result
    }

    /// The mask without 8-connected components of fewer than `minimumPixels` pixels.
    public func removingComponents(smallerThan minimumPixels: Int) -> BinaryMask {
        guard minimumPixels > 1 else { return self }
        var out = self
        for component in components() where component.count < minimumPixels {
            for i in component { out.bits[i] = false }
        }
        return out
    }

    /// Sets every pixel on the straight segment from (`x0`, `y0`) to (`x1`, `y1`) (coordinates rounded;
    /// 8-connected, both ends included).
    public mutating func drawLine(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) {
        let steps = Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up))
        if steps == 0 {
            self[Int(x0.rounded()), Int(y0.rounded())] = true
            return
        }
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            self[Int((x0 + (x1 - x0) * t).rounded()), Int((y0 + (y1 - y0) * t).rounded())] = true
        }
    }

    /// The mask turned by `quarterTurns` × 90° clockwise and then, if `mirrored`, flipped left–right.
    public func transformed(quarterTurns: Int, mirrored: Bool) -> BinaryMask {
        let turns = ((quarterTurns % 4) + 4) % 4
        let (w, h) = turns % 2 == 0 ? (width, height) : (height, width)
        var out = BinaryMask(width: w, height: h)
        for y in 0..<height {
            for x in 0..<width where bits[y * width + x] {
                var (nx, ny): (Int, Int)
                switch turns {
                case 0: (nx, ny) = (x, y)
                case 1: (nx, ny) = (height - 1 - y, x)
                case 2: (nx, ny) = (width - 1 - x, height - 1 - y)
                default: (nx, ny) = (y, width - 1 - x)
                }
                if mirrored { nx = w - 1 - nx }
                out.bits[ny * w + nx] = true
            }
        }
        return out
    }
}
