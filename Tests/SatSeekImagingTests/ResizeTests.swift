import Foundation
import Testing
@testable import SatSeekImaging

/// Pillow-parity of the antialiased bilinear resize and of the whole preprocessing chain, against
/// goldens from scripts/reference/make_resize_golden.py (Pillow + torch).
@Suite struct ResizeTests {
    static func input(_ name: String) -> RGBImage {
        let entry = ResizeGoldens.inputs[name]!
        return RGBImage(width: entry.width, height: entry.height, pixels: bytes(hex: entry.hex))
    }

    @Test("resize matches Pillow BILINEAR exactly", arguments: ResizeGoldens.resizes.indices)
    func resizeMatchesPillow(index: Int) {
        let golden = ResizeGoldens.resizes[index]
        let output = resizeBilinearAntialiased(Self.input(golden.input), width: golden.width, height: golden.height)
        #expect(output.width == golden.width && output.height == golden.height)
        let expected = bytes(hex: golden.hex)
        #expect(output.pixels.count == expected.count)
        #expect(
            maxDifference(output.pixels, expected) == 0,
            "\(golden.input) → \(golden.width)×\(golden.height): max |Δ| \(maxDifference(output.pixels, expected))")
    }

    /// Pillow's 8-bit resampling loops written out plainly (one sample, one tap at a time) — the oracle
    /// for the SIMD passes on sizes the goldens do not reach (rows wider than a vector, both pass orders,
    /// long downscale kernels, bicubic's negative taps).
    static func plainResize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
        func pass(_ pixels: [UInt8], inWidth: Int, inHeight: Int, horizontal: Bool) -> ([UInt8], Int, Int) {
            let outWidth = horizontal ? width : inWidth, outHeight = horizontal ? inHeight : height
            let c = ResampleCoefficients(
                inSize: horizontal ? inWidth : inHeight, outSize: horizontal ? width : height,
                filter: filter)
            var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    for channel in 0..<3 {
                        let index = horizontal ? x : y
                        let (start, count) = c.bounds[index]
                        var sum = 1 << 21
                        for t in 0..<count {
                            let sx = horizontal ? start + t : x, sy = horizontal ? y : start + t
                            sum +=
                                Int(pixels[(sy * inWidth + sx) * 3 + channel])
                                * Int(c.weights[index * c.kernelSize + t])
                        }
                        out[(y * outWidth + x) * 3 + channel] = UInt8(min(max(sum >> 22, 0), 255))
                    }
                }
            }
            return (out, outWidth, outHeight)
        }
        let shrinkY = image.height - height, shrinkX = image.width - width
        var (pixels, w, h) = (image.pixels, image.width, image.height)
        if !(shrinkY > 0 && shrinkY > shrinkX * 2) {
            if w != width { (pixels, w, h) = pass(pixels, inWidth: w, inHeight: h, horizontal: true) }
            if h != height { (pixels, w, h) = pass(pixels, inWidth: w, inHeight: h, horizontal: false) }
        } else {
            (pixels, w, h) = pass(pixels, inWidth: w, inHeight: h, horizontal: false)
            if w != width { (pixels, w, h) = pass(pixels, inWidth: w, inHeight: h, horizontal: true) }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    @Test(
        "SIMD resize equals the plain loops",
        arguments: [
            (150, 150, 224, 224), (400, 400, 224, 224), (301, 97, 50, 224), (97, 301, 224, 20), (33, 200, 31, 41),
            (5, 3, 64, 2)
        ])
    func simdMatchesPlainLoops(size: (Int, Int, Int, Int)) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(size.0 * 1000 + size.1)
        let pixels = (0..<(size.0 * size.1 * 3)).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let image = RGBImage(width: size.0, height: size.1, pixels: pixels)
        for filter in [ResampleFilter.bilinear, .bicubic] {
            let fast = resizeAntialiased(image, width: size.2, height: size.3, filter: filter)
            let plain = Self.plainResize(image, width: size.2, height: size.3, filter: filter)
            #expect(fast == plain, "\(size) \(filter): max |Δ| \(maxDifference(fast.pixels, plain.pixels))")
        }
    }

    @Test func sameSizeIsIdentity() {
        let image = Self.input("noise37x23")
        #expect(resizeBilinearAntialiased(image, width: 37, height: 23) == image)
    }

    @Test func constantImageStaysConstant() {
        let image = RGBImage(width: 13, height: 9, pixels: [UInt8](repeating: 200, count: 13 * 9 * 3))
        for (w, h) in [(5, 4), (40, 3), (13, 30), (1, 1)] {
            let out = resizeBilinearAntialiased(image, width: w, height: h)
            #expect(out.pixels.allSatisfy { $0 == 200 })
        }
    }

    @Test func filterSupportGrowsWhenDownscaling() {
        // 4× downscale: each output pixel sees a triangle of half-width 4 input pixels (taps ≤ 9).
        let c = ResampleCoefficients(inSize: 40, outSize: 10)
        #expect(c.kernelSize == 9)
        #expect(c.bounds[5].start == 18 && c.bounds[5].count == 8)
        // Upscaling keeps the unit support: two taps.
        let up = ResampleCoefficients(inSize: 10, outSize: 40)
        #expect(up.bounds.allSatisfy { $0.count <= 3 })
        // Fixed-point weights of each output pixel sum to ~2^22.
        for i in 0..<10 {
            let sum = c.weights[(i * c.kernelSize)..<((i + 1) * c.kernelSize)].reduce(0, +)
            #expect(abs(Int(sum) - (1 << 22)) <= 8)
        }
    }
}

@Suite struct PreprocessingTests {
    @Test("full preprocessing matches PIL + torchvision", arguments: ResizeGoldens.preprocess.indices)
    func matchesReference(index: Int) {
        let golden = ResizeGoldens.preprocess[index]
        let image = ResizeTests.input(golden.input)
        let size = Preprocessing.resizedSize(width: image.width, height: image.height, resolution: golden.resolution)
        #expect(size.width == golden.resized.0 && size.height == golden.resized.1)
        #expect(Preprocessing.cropOffset(size: size.width, crop: golden.resolution) == golden.crop.0)
        #expect(Preprocessing.cropOffset(size: size.height, crop: golden.resolution) == golden.crop.1)
        let tensor = Preprocessing(resolution: golden.resolution).tensor(image)
        let expected = floats(hex: golden.tensorHex)
        #expect(tensor.count == expected.count)
        // One 8-bit level is 1/255/std ≈ 0.0175: ±1 level of resize tolerance plus float rounding.
        let worst = zip(tensor, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 0.018, "max |Δ| \(worst)")
    }

    @Test func resizedSizeTruncatesLongSide() {
        #expect(Preprocessing.resizedSize(width: 150, height: 150, resolution: 224) == (224, 224))
        #expect(Preprocessing.resizedSize(width: 300, height: 200, resolution: 224) == (336, 224))
        #expect(Preprocessing.resizedSize(width: 37, height: 23, resolution: 16) == (25, 16))  // 25.7 → 25
        #expect(Preprocessing.resizedSize(width: 934, height: 724, resolution: 224) == (288, 224))  // 288.97
        #expect(Preprocessing.resizedSize(width: 5, height: 7, resolution: 8) == (8, 11))
    }

    @Test func cropOffsetRoundsHalfToEven() {
        #expect(Preprocessing.cropOffset(size: 25, crop: 16) == 4)  // 4.5 → 4
        #expect(Preprocessing.cropOffset(size: 11, crop: 8) == 2)  // 1.5 → 2
        #expect(Preprocessing.cropOffset(size: 13, crop: 8) == 2)  // 2.5 → 2
        #expect(Preprocessing.cropOffset(size: 15, crop: 8) == 4)  // 3.5 → 4
        #expect(Preprocessing.cropOffset(size: 288, crop: 224) == 32)
        #expect(Preprocessing.cropOffset(size: 8, crop: 8) == 0)
    }

    @Test func cropTakesTheCenter() {
        // 11×8 → crop 8×8 starting at column 2; no resize needed when the short side is already 8.
        let pixels = (0..<(11 * 8)).flatMap { i -> [UInt8] in [UInt8(i % 11), UInt8(i / 11), 0] }
        let cropped = Preprocessing(resolution: 8).resizedAndCropped(RGBImage(width: 11, height: 8, pixels: pixels))
        #expect(cropped.width == 8 && cropped.height == 8)
        #expect(cropped[0, 0] == (2, 0, 0))
        #expect(cropped[7, 7] == (9, 7, 0))
    }

    @Test func normalisationValues() {
        let p = Preprocessing(resolution: 4)
        #expect(p.mean == (0.485, 0.456, 0.406) && p.std == (0.229, 0.224, 0.225))
        let black = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 0, count: 48))
        let white = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 255, count: 48))
        let t0 = p.tensor(black), t1 = p.tensor(white)
        #expect(t0.count == 48)
        let expected0: [Float] = [-2.1179039, -2.0357143, -1.8044444]
        let expected1: [Float] = [2.2489083, 2.4285715, 2.64]
        for c in 0..<3 {
            #expect(t0[(c * 16)..<((c + 1) * 16)].allSatisfy { abs($0 - expected0[c]) < 1e-6 })
            #expect(t1[(c * 16)..<((c + 1) * 16)].allSatisfy { abs($0 - expected1[c]) < 1e-6 })
        }
        // A mid-grey pixel in channel-first order: value 128 → (128/255 - mean) / std.
        var grey = black
        grey.pixels[0] = 128; grey.pixels[1] = 64; grey.pixels[2] = 32
        let t = p.tensor(grey)
        #expect(abs(t[0] - (128 / 255 - 0.485) / 0.229) < 1e-6)
        #expect(abs(t[16] - (64 / 255 - 0.456) / 0.224) < 1e-6)
        #expect(abs(t[32] - (32 / 255 - 0.406) / 0.225) < 1e-6)
    }

    @Test func writeFillsOnlyItsSlice() {
        let p = Preprocessing(resolution: 4)
        let image = RGBImage(width: 6, height: 5, pixels: (0..<90).map { UInt8($0 * 2) })
        var batch = [Float](repeating: 99, count: 2 * p.tensorCount + 1)
        batch.withUnsafeMutableBufferPointer { buffer in
            p.write(image, into: UnsafeMutableBufferPointer(rebasing: buffer[p.tensorCount...]))
        }
        #expect(batch[0..<p.tensorCount].allSatisfy { $0 == 99 })
        #expect(Array(batch[p.tensorCount..<(2 * p.tensorCount)]) == p.tensor(image))
        #expect(batch.last == 99)
    }
}
