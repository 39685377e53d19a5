@testable import SatSeekIndex
import Foundation
import Testing

@Suite("Index file format")
struct IndexFileTests {
    @Test("xxHash64 known values and streaming")
    func xxhash() {
        #expect([UInt8]().withUnsafeBytes { XXHash64.hash($0) } == 0xEF46_DB37_51D8_E999)
        #expect(Array("abc".utf8).withUnsafeBytes { XXHash64.hash($0) } == 0x44BC_2CF5_AD77_0999)
        let bytes = (0..<100).map { UInt8($0) }
        #expect(bytes.withUnsafeBytes { XXHash64.hash($0) } == 0x6AC1_E580_3216_6597)
        let long = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        let whole = long.withUnsafeBytes { XXHash64.hash($0) }
        for chunk in [1, 3, 31, 32, 33, 100] {
            var hasher = XXHash64()
            var start = 0
            while start < long.count {
                let end = min(long.count, start + chunk)
                long[start..<end].withUnsafeBytes { hasher.update($0) }
                start = end
            }
            #expect(hasher.digest() == whole)
        }
    }

    static func sampleIndex(storage: VectorStorage = .float32, metric: Metric = .cosine) -> FlatIndex {
        FlatIndex(
            dimensions: 8, metric: metric, storage: storage, ids: (0..<50).map { Int64($0 + 100) },
            vectors: randomMatrix(rows: 50, dims: 8, seed: 3))
    }

    @Test("flat round trip for every storage and metric", arguments: VectorStorage.allCases, Metric.allCases)
    func flatRoundTrip(storage: VectorStorage, metric: Metric) throws {
        let path = temporaryFolder() + "/flat.ssidx"
        let index = Self.sampleIndex(storage: storage, metric: metric)
        try index.write(to: path, modelID: "effnet-lite0")
        var opened = try FlatIndex.open(path, expectedModelID: "effnet-lite0")
        #expect(opened.mapping != nil)
        #expect(opened.storage == storage && opened.metric == metric && opened.count == 50)
        #expect(opened.ids == index.ids)
        let queries = randomMatrix(rows: 4, dims: 8, seed: 4)
        #expect(opened.search(batch: queries, k: 5) == index.search(batch: queries, k: 5))
        #expect(opened.search(row(queries, 0, 8), k: 5) == index.search(row(queries, 0, 8), k: 5))
        #expect(try FlatIndex.modelID(ofFile: path) == "effnet-lite0")
        opened.add(ids: [7], vectors: row(queries, 0, 8))
        #expect(opened.mapping == nil && opened.count == 51)
        #expect(opened.search(row(queries, 0, 8), k: 1).first?.id == 7)
    }

    @Test("empty index round trip")
    func emptyRoundTrip() throws {
        let path = temporaryFolder() + "/empty.ssidx"
        try FlatIndex(dimensions: 4).write(to: path)
        let opened = try FlatIndex.open(path)
        #expect(opened.count == 0)
        #expect(opened.search([1, 0, 0, 0], k: 3).isEmpty)
    }

    @Test("truncated, corrupted and mismatched files give clear errors")
    func errors() throws {
        let folder = temporaryFolder()
        let path = folder + "/index.ssidx"
        try Self.sampleIndex().write(to: path, modelID: "effnet-lite0")
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        func expectError(
            _ bytes: Data, _ check: (IndexFileError) -> Bool, verify: Bool = true,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let broken = folder + "/broken.ssidx"
            try! bytes.write(to: URL(fileURLWithPath: broken))
            do {
                _ = try FlatIndex.open(broken, verifyChecksum: verify)
                Issue.record("opened a broken file", sourceLocation: sourceLocation)
            } catch let error as IndexFileError {
                #expect(check(error), "\(error)", sourceLocation: sourceLocation)
                #expect(error.description.contains(broken), sourceLocation: sourceLocation)
            } catch {
                Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
            }
        }
        expectError(good.prefix(good.count - 100)) { if case .truncated = $0 { true } else { false } }
        expectError(good.prefix(100)) { if case .truncated = $0 { true } else { false } }
        var payloadFlip = good
        payloadFlip[good.count - 200] ^= 0x01
        expectError(payloadFlip) { $0 == .checksumMismatch(path: folder + "/broken.ssidx", part: "payload") }
        var headerFlip = good
        headerFlip[30] ^= 0x40
        expectError(headerFlip) { $0 == .checksumMismatch(path: folder + "/broken.ssidx", part: "header") }
        var version = good
        version[8] = 9
        expectError(version) { if case .unsupportedVersion(_, 9, 1) = $0 { true } else { false } }
        var magic = good
        magic[0] = UInt8(ascii: "X")
        expectError(magic) { if case .notAnIndexFile = $0 { true } else { false } }
        // Payload corruption goes unnoticed only when verification is switched off.
        let unverified = folder + "/unverified.ssidx"
        try payloadFlip.write(to: URL(fileURLWithPath: unverified))
        #expect(throws: Never.self) { try FlatIndex.open(unverified, verifyChecksum: false) }

        #expect(throws: IndexFileError.wrongModel(path: path, expected: "clip", found: "effnet-lite0")) {
            try FlatIndex.open(path, expectedModelID: "clip")
        }
        #expect(throws: IndexFileError.wrongKind(path: path, expected: .binary, found: IndexKind.flat.rawValue)) {
            try BinaryIndex.open(path)
        }
        #expect(throws: IndexFileError.self) { try FlatIndex.open(folder + "/missing.ssidx") }
    }

    @Test("an abandoned write leaves the previous file intact")
    func atomicWrite() throws {
        let folder = temporaryFolder()
        let path = folder + "/index.ssidx"
        let first = Self.sampleIndex()
        try first.write(to: path, modelID: "v1")
        let second = FlatIndex(
            dimensions: 8, metric: .cosine, ids: (0..<500).map(Int64.init),
            vectors: randomMatrix(rows: 500, dims: 8, seed: 12))
        #expect(throws: IndexFileError.self) {
            try second.write(to: path, modelID: "v2", abandonAfterPayloadBytes: 4_000)
        }
        let reopened = try FlatIndex.open(path)
        #expect(try FlatIndex.modelID(ofFile: path) == "v1")
        #expect(reopened.ids == first.ids)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(leftovers == ["index.ssidx"])
        // A completed write replaces it.
        try second.write(to: path, modelID: "v2")
        #expect(try FlatIndex.open(path, expectedModelID: "v2").count == 500)
    }
}
