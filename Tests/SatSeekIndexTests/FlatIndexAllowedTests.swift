import Testing
@testable import SatSeekIndex

/// `search(_:k:allowed:)`: filtering by an allowed id set (map-box search).
@Suite struct FlatIndexAllowedTests {
    @Test func onlyAllowedIdsAreReturned() {
        let vectors: [Float] = [1, 0, 0.9, 0.1, 0.5, 0.5, 0, 1]
        let index = FlatIndex(dimensions: 2, metric: .cosine, ids: [10, 11, 12, 13], vectors: vectors)
        let hits = index.search([1, 0], k: 3, allowed: [12, 13])
        #expect(hits.map(\.id) == [12, 13])
        #expect(index.search([1, 0], k: 1, allowed: [11, 12]).map(\.id) == [11])
        #expect(index.search([1, 0], k: 5, allowed: [10, 11], excluding: [10]).map(\.id) == [11])
        #expect(index.search([1, 0], k: 5, allowed: []).isEmpty)
        #expect(index.search([1, 0], k: 5, allowed: [99]).isEmpty)
    }
}
