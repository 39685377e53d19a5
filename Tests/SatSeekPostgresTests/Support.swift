import Foundation
import Testing
import SatSeekTestSupport
import SatSeekImaging
import SatSeekRandom

/// `clusters` Gaussian blobs of `perCluster` vectors each (spread 0.35 around unit-scale centres).
func clusteredVectors(clusters: Int, perCluster: Int, dimensions: Int, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    var result: [[Float]] = []
    for _ in 0..<clusters {
        let centre = (0..<dimensions).map { _ in rng.normal() }
        for _ in 0..<perCluster {
            result.append(centre.map { $0 + 0.35 * rng.normal() })
        }
    }
    return result
}

/// Real-image vectors: each aid-mini image (at most `perClass` per class) as an 8×8 grid of mean RGB values
/// (192 numbers), centred on the set's mean so that cosine similarity separates them. Empty when the
/// shared data is missing.
func pixelVectors(perClass: Int) -> [(path: String, className: String, vector: [Float])] {
    let root = sharedData.appendingPathComponent("datasets/aid-mini")
    let fm = FileManager.default
    guard let classes = try? fm.contentsOfDirectory(atPath: root.path).sorted() else { return [] }
    var items: [(path: String, className: String, vector: [Float])] = []
    for name in classes {
        let folder = root.appendingPathComponent(name)
        guard let files = try? fm.contentsOfDirectory(atPath: folder.path).sorted() else { continue }
        for file in files.prefix(perClass) {
            let url = folder.appendingPathComponent(file)
            guard let image = try? ImageDecoder.decode(url, maxSide: 64) else { continue }
            items.append((url.path, name, gridFeatures(image, grid: 8)))
        }
    }
    guard !items.isEmpty else { return [] }
    let d = items[0].vector.count
    var mean = [Float](repeating: 0, count: d)
    for item in items { for j in 0..<d { mean[j] += item.vector[j] / Float(items.count) } }
    return items.map { ($0.path, $0.className, zip($0.vector, mean).map { $0 - $1 }) }
}

private func gridFeatures(_ image: RGBImage, grid: Int) -> [Float] {
    var sums = [Float](repeating: 0, count: grid * grid * 3)
    var counts = [Float](repeating: 0, count: grid * grid)
    for y in 0..<image.height {
        for x in 0..<image.width {
            let cell = (y * grid / image.height) * grid + x * grid / image.width
            let (r, g, b) = image[x, y]
            sums[cell * 3] += Float(r)
            sums[cell * 3 + 1] += Float(g)
            sums[cell * 3 + 2] += Float(b)
            counts[cell] += 1
        }
    }
    return sums.indices.map { sums[$0] / max(1, counts[$0 / 3]) / 255 }
}
