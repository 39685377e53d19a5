/// A 1×1 convolution on channels-last maps with its weights packed once for SatSeek's own GEMM kernel.
///
/// `output[pixels × outC] = activation(input[pixels × inC] · weightᵀ + bias) + residual`
///
/// The weights are stored as panels of 16 output channels (`inC × 16` floats each, the last panel 8 wide
/// when `outC` is an odd multiple of 8). The micro-kernel keeps a 6-pixel × 16-channel block of sums in
/// twelve `SIMD8` registers, walks the input channels broadcasting one input value per pixel against two
/// weight vectors, and starts from the bias and ends with the activation and residual add, so the
/// convolution's whole epilogue costs no extra pass over memory. Pixels are cut into blocks of six and
/// (at the end) five, which tile every plane of 25 pixels or more exactly (49 = 4·6 + 5·5): a 6-row block
/// holding only the one pixel left over after 8·6 cost the 7×7 layers a ninth of their time. OpenBLAS's SGEMM is tuned for large
/// matrices; these layers are small (49–196 pixels in the late stages) and the per-call packing of
/// general SGEMM does not pay there. Layers whose output channels are not a multiple of 8 fall back to
/// SGEMM (``PointwiseConvolution/applyChannelsLast(_:pixels:output:threads:)``).
public struct PackedPointwiseConvolution: Sendable {
    public let convolution: PointwiseConvolution
    /// Panels of 16 (the last possibly 8) output channels, each `inChannels × width` floats; empty when
    /// the layer uses the SGEMM fallback.
    let panels: [Float]

    public var inChannels: Int { convolution.inChannels }
    public var outChannels: Int { convolution.outChannels }

    public init(_ convolution: PointwiseConvolution) {
        self.convolution = convolution
        let (cin, cout) = (convolution.inChannels, convolution.outChannels)
        guard cout % 8 == 0 else {
            panels = []
            return
        }
        var packed = [Float](repeating: 0, count: cin * cout)
        var offset = 0
        var first = 0
        while first < cout {
            let width = min(16, cout - first)
            for k in 0..<cin {
                for j in 0..<width { packed[offset + k * width + j] = convolution.weight[(first + j) * cin + k] }
            }
            offset += cin * width
            first += width
        }
        panels = packed
    }

    /// Applies the convolution to one channels-last feature map.
    /// - Parameters:
    ///   - input: `pixels × inChannels` floats.
    ///   - output: `pixels × outChannels` floats, overwritten; must not overlap `input`.
    ///   - residual: When given, `pixels × outChannels` floats added after the activation (the skip
    ///     connection of an inverted-residual block); a buffer distinct from `output`.
    public func apply(
        _ input: UnsafePointer<Float>, pixels: Int, output: UnsafeMutablePointer<Float>,
        residual: UnsafePointer<Float>? = nil, threads: Int
    ) {
        guard !panels.isEmpty else {
            convolution.applyChannelsLast(input, pixels: pixels, output: output, threads: threads)
            if let residual { addInPlace(output, residual, count: pixels * outChannels) }
            return
        }
        let (cin, cout) = (inChannels, outChannels)
        let blocks = RowBlocks(pixels: pixels)
        let rowBlocks = blocks.count
        let panelCount = (cout + 15) / 16
        let threads = worthwhileThreads(threads, work: cout * cin * pixels)
        // Panels whose weights share ~96 KB of L2 are swept together over each 6-pixel block.
        let panelsPerGroup = max(1, 96 * 1024 / (cin * 16 * 4))
        panels.withUnsafeBufferPointer { packed in
            convolution.bias.withUnsafeBufferPointer { bias in
                let task = PackedGEMMTask(
                    input: input, blocks: blocks, depth: cin, outChannels: cout,
                    panels: packed.baseAddress!, bias: bias.baseAddress!,
                    activation: convolution.activation, output: output, residual: residual)
                if threads == 1 || pixels >= 4 * cout {
                    parallelChunks(rowBlocks, threads: threads) { blocks in
                        task.run(rowBlocks: blocks, panels: 0..<panelCount, panelsPerGroup: panelsPerGroup)
                    }
                } else {
                    // Small planes: split (panel, 6-pixel block) tiles, panel by panel, so an odd panel count
                    // (5 or 7 at 80 or 112 channels) still gives every thread the same work.
                    parallelChunks(panelCount * rowBlocks, threads: threads) { tiles in
                        task.run(tiles: tiles, rowBlocks: rowBlocks)
                    }
                }
            }
        }
    }
}

/// A plane's pixels cut into blocks of six, the last `fives` of them five: exact for 25 pixels or more
/// (`6·count − pixels` blocks of five); smaller planes keep blocks of six, the last one partly filled.
struct RowBlocks {
    let pixels: Int
    let count: Int
    /// Blocks of six before the blocks of five.
    let sixes: Int

    init(pixels: Int) {
        self.pixels = pixels
        count = (pixels + 5) / 6
        let fives = 6 * count - pixels
        sixes = fives <= count ? count - fives : count
    }

    /// First pixel and pixel count of block `block`.
    @inline(__always)
    func block(_ block: Int) -> (row: Int, rows: Int) {
        if block < sixes { return (6 * block, min(6, pixels - 6 * block)) }
        return (6 * sixes + 5 * (block - sixes), 5)
    }
}

/// One packed GEMM call's operands; `run` computes any rectangle of pixel blocks × 16-channel panels.
struct PackedGEMMTask {
    let input: UnsafePointer<Float>
    let blocks: RowBlocks
    let depth: Int
    let outChannels: Int
    let panels: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let activation: Activation
    let output: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?

    /// Every 6-pixel block of `rowBlocks` against every panel of `panelRange`, panels in groups that
    /// share L2 swept together over each block.
    func run(rowBlocks: Range<Int>, panels panelRange: Range<Int>, panelsPerGroup: Int) {
        let epilogue = Epilogue(activation)
        var groupStart = panelRange.lowerBound
        while groupStart < panelRange.upperBound {
            let groupEnd = min(groupStart + panelsPerGroup, panelRange.upperBound)
            for block in rowBlocks {
                for panel in groupStart..<groupEnd { tile(block: block, panel: panel, epilogue: epilogue) }
            }
            groupStart = groupEnd
        }
    }

    /// Tiles numbered panel by panel (`panel · rowBlocks + block`).
    func run(tiles: Range<Int>, rowBlocks: Int) {
        let epilogue = Epilogue(activation)
        for t in tiles { tile(block: t % rowBlocks, panel: t / rowBlocks, epilogue: epilogue) }
    }

    @inline(__always)
    func tile(block: Int, panel: Int, epilogue: Epilogue) {
        let (row, rows) = blocks.block(block)
        // Rows past the end read the block's first row again (valid memory); their sums are not stored.
        let a0 = input + row * depth
        let a1 = rows > 1 ? a0 + depth : a0, a2 = rows > 2 ? a0 + 2 * depth : a0
        let a3 = rows > 3 ? a0 + 3 * depth : a0, a4 = rows > 4 ? a0 + 4 * depth : a0
        let a5 = rows > 5 ? a0 + 5 * depth : a0
        let first = panel * 16
        let b = panels + first * depth
        let target = output + row * outChannels + first
        let extra = residual.map { $0 + row * outChannels + first }
        // A block of exactly five runs a copy of the kernel without the sixth row's FMAs.
        let five = rows == 5
        switch (outChannels - first >= 16, five) {
        case (true, false):
            kernel6x16(
                a0, a1, a2, a3, a4, a5, b: b, bias: bias + first, rows: rows, five: false,
                output: target, residual: extra, epilogue: epilogue)
        case (true, true):
            kernel6x16(
                a0, a1, a2, a3, a4, a5, b: b, bias: bias + first, rows: rows, five: true,
                output: target, residual: extra, epilogue: epilogue)
        case (false, false):
            kernel6x8(
                a0, a1, a2, a3, a4, a5, b: b, bias: bias + first, rows: rows, five: false,
                output: target, residual: extra, epilogue: epilogue)
        case (false, true):
            kernel6x8(
                a0, a1, a2, a3, a4, a5, b: b, bias: bias + first, rows: rows, five: true,
                output: target, residual: extra, epilogue: epilogue)
        }
    }

    struct Epilogue {
        let lower: SIMD8<Float>
        let upper: SIMD8<Float>

        init(_ activation: Activation) {
            let (lo, hi) = activation.clampBounds
            (lower, upper) = (SIMD8(repeating: lo), SIMD8(repeating: hi))
        }

        @inline(__always)
        func store(_ sum: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?) {
            var value = clamp(sum, lower, upper)
            if let residual { value += loadVector(residual) }
            storeVector(value, target)
        }

        /// Stores one pixel's sixteen sums.
        @inline(__always)
        func store(
            _ low: SIMD8<Float>, _ high: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>,
            _ residual: UnsafePointer<Float>?
        ) {
            store(low, target, residual)
            store(high, target + 8, residual.map { $0 + 8 })
        }
    }

    @inline(__always)
    func kernel6x16(
        _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
        _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>,
        b: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, five: Bool,
        output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, epilogue: Epilogue
    ) {
        let bias0 = loadVector(bias), bias1 = loadVector(bias + 8)
        var c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1
        var c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1
        var w = b
        for k in 0..<depth {
            let b0 = loadVector(w), b1 = loadVector(w + 8)
            var x = SIMD8<Float>(repeating: a0[k])
            c00.addProduct(x, b0); c01.addProduct(x, b1)
            x = SIMD8(repeating: a1[k])
            c10.addProduct(x, b0); c11.addProduct(x, b1)
            x = SIMD8(repeating: a2[k])
            c20.addProduct(x, b0); c21.addProduct(x, b1)
            x = SIMD8(repeating: a3[k])
            c30.addProduct(x, b0); c31.addProduct(x, b1)
            x = SIMD8(repeating: a4[k])
            c40.addProduct(x, b0); c41.addProduct(x, b1)
            if !five {
                x = SIMD8(repeating: a5[k])
                c50.addProduct(x, b0); c51.addProduct(x, b1)
            }
            w += 16
        }
        epilogue.store(c00, c01, output, residual)
        if rows > 1 { epilogue.store(c10, c11, output + outChannels, residual.map { $0 + outChannels }) }
        if rows > 2 { epilogue.store(c20, c21, output + 2 * outChannels, residual.map { $0 + 2 * outChannels }) }
        if rows > 3 { epilogue.store(c30, c31, output + 3 * outChannels, residual.map { $0 + 3 * outChannels }) }
        if rows > 4 { epilogue.store(c40, c41, output + 4 * outChannels, residual.map { $0 + 4 * outChannels }) }
        if rows > 5 { epilogue.store(c50, c51, output + 5 * outChannels, residual.map { $0 + 5 * outChannels }) }
    }

    @inline(__always)
    func kernel6x8(
        _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
        _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>, _ a5: UnsafePointer<Float>,
        b: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, five: Bool,
        output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, epilogue: Epilogue
    ) {
        let bias0 = loadVector(bias)
        var c0 = bias0, c1 = bias0, c2 = bias0, c3 = bias0, c4 = bias0, c5 = bias0
        var w = b
        for k in 0..<depth {
            let b0 = loadVector(w)
            c0.addProduct(SIMD8(repeating: a0[k]), b0)
            c1.addProduct(SIMD8(repeating: a1[k]), b0)
            c2.addProduct(SIMD8(repeating: a2[k]), b0)
            c3.addProduct(SIMD8(repeating: a3[k]), b0)
            c4.addProduct(SIMD8(repeating: a4[k]), b0)
            if !five { c5.addProduct(SIMD8(repeating: a5[k]), b0) }
            w += 8
        }
        epilogue.store(c0, output, residual)
        if rows > 1 { epilogue.store(c1, output + outChannels, residual.map { $0 + outChannels }) }
        if rows > 2 { epilogue.store(c2, output + 2 * outChannels, residual.map { $0 + 2 * outChannels }) }
        if rows > 3 { epilogue.store(c3, output + 3 * outChannels, residual.map { $0 + 3 * outChannels }) }
        if rows > 4 { epilogue.store(c4, output + 4 * outChannels, residual.map { $0 + 4 * outChannels }) }
        if rows > 5 { epilogue.store(c5, output + 5 * outChannels, residual.map { $0 + 5 * outChannels }) }
    }
}
