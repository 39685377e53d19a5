@testable import SatSeekIndex
import Testing

@Suite("BinaryIndex and multi-index hashing")
struct BinaryIndexTests {
    /// Naive reference: every distance, sorted by (distance, id).
    static func naive(
        _ codes: [UInt64], ids: [Int64], words: Int, bits: Int, query: [UInt64], k: Int,
        allowed: Set<Int64>? = nil
    ) -> [HammingHit] {
        let mask: UInt64 = bits % 64 == 0 ? ~0 : (1 << UInt64(bits % 64)) - 1
        var hits: [HammingHit] = []
        for (i, id) in ids.enumerated() where allowed?.contains(id) ?? true {
            var d = 0
            for w in 0..<words {
                let m = w == words - 1 ? mask : ~0
                d += ((codes[i * words + w] ^ query[w]) & m).nonzeroBitCount
            }
            hits.append(HammingHit(id: id, distance: d))
        }
        hits.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
        return Array(hits.prefix(k))
    }

    @Test("exhaustive search equals naive", arguments: [16, 64, 100, 128, 256, 512])
    func exhaustive(bits: Int) {
        let words = (bits + 63) / 64
        let n = 3_000
        let codes = clusteredCodes(count: n, bits: bits, centres: 6, flip: 0.2, seed: UInt64(bits))
        let ids = (0..<n).map { Int64(($0 * 7919) % 10_007) }
        let index = BinaryIndex(bits: bits, ids: ids, codes: codes)
        let queries = clusteredCodes(count: 5, bits: bits, centres: 6, flip: 0.2, seed: UInt64(bits) + 1)
        for q in 0..<5 {
            let query = Array(queries[(q * words)..<((q + 1) * words)])
            let want = Self.naive(codes, ids: ids, words: words, bits: bits, query: query, k: 15)
            #expect(index.search(query, k: 15) == want)
        }
        let batch = index.search(batch: queries, k: 15)
        for q in 0..<5 {
            #expect(batch[q] == index.search(Array(queries[(q * words)..<((q + 1) * words)]), k: 15))
        }
    }

    @Test("multi-index hashing equals exhaustive", arguments: [16, 32, 64, 96, 128, 256])
    func multiIndexEqualsExhaustive(bits: Int) {
        let words = (bits + 63) / 64
        let n = 4_000
        let codes = clusteredCodes(count: n, bits: bits, centres: 10, flip: 0.15, seed: UInt64(bits) * 3)
        let ids = (0..<n).map { Int64(n - $0) }
        var index = BinaryIndex(bits: bits, ids: ids, codes: codes)
        let queries =
            clusteredCodes(count: 8, bits: bits, centres: 10, flip: 0.15, seed: UInt64(bits) * 3 + 1)
            + randomCodes(count: 2, words: words, seed: 77)
        for m in [nil, 2, 4] as [Int?] {
            index.buildMultiIndex(substrings: m)
            for q in 0..<10 {
                let query = Array(queries[(q * words)..<((q + 1) * words)])
                for k in [1, 10, 50] {
                    #expect(
                        index.searchMultiIndex(query, k: k) == index.search(query, k: k),
                        "m \(String(describing: m)) k \(k)")
                }
            }
        }
        // k beyond the count, and a filter.
        let query = Array(queries[0..<words])
        let small = BinaryIndex(bits: bits, ids: Array(ids.prefix(20)), codes: Array(codes.prefix(20 * words)))
        var smallMIH = small
        smallMIH.buildMultiIndex(substrings: 2)
        #expect(smallMIH.searchMultiIndex(query, k: 50) == small.search(query, k: 50))
        #expect(smallMIH.searchMultiIndex(query, k: 50).count == 20)
        let allowed = Set(ids.filter { $0 % 5 == 0 })
        #expect(
            index.searchMultiIndex(query, k: 12, allowed: allowed)
                == Self.naive(codes, ids: ids, words: words, bits: bits, query: query, k: 12, allowed: allowed))
        let batch = index.searchMultiIndex(batch: Array(queries.prefix(3 * words)), k: 5)
        for q in 0..<3 { #expect(batch[q] == index.search(Array(queries[(q * words)..<((q + 1) * words)]), k: 5)) }
    }

    @Test("hits convert to scores = -distance")
    func scoreConvention() {
        let hit = HammingHit(id: 4, distance: 7)
        #expect(hit.score == -7)
        #expect(hit.searchHit == SearchHit(id: 4, score: -7))
    }

    @Test("persistence round trip searches the mapping")
    func persistence() throws {
        let folder = temporaryFolder()
        let codes = randomCodes(count: 500, words: 2, seed: 8)
        let index = BinaryIndex(bits: 128, ids: (0..<500).map(Int64.init), codes: codes)
        try index.write(to: folder + "/codes.ssidx", modelID: "hash-128")
        var opened = try BinaryIndex.open(folder + "/codes.ssidx", expectedModelID: "hash-128")
        #expect(opened.count == 500)
        let query = Array(codes[20..<22])  // code of id 10
        #expect(opened.search(query, k: 9) == index.search(query, k: 9))
        opened.buildMultiIndex()
        #expect(opened.searchMultiIndex(query, k: 9) == index.search(query, k: 9))
        opened.add(ids: [1_000], codes: query)
        #expect(opened.search(query, k: 2).map(\.id) == [10, 1_000])
    }
}
