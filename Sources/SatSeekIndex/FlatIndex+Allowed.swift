extension FlatIndex {
    /// The `k` best hits for `query` among the ids in `allowed` only (e.g. the chips inside a map box),
    /// skipping ids in `excluding`. An empty `allowed` set returns no hits.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>, excluding: Set<Int64> = []) -> [SearchHit] {
        guard !allowed.isEmpty else { return [] }
        if excluding.isEmpty { return search(query, k: k, accept: { allowed.contains($0) }) }
        return search(query, k: k, accept: { allowed.contains($0) && !excluding.contains($0) })
    }

    /// Batch form of ``search(_:k:allowed:excluding:)``: every query keeps only ids in `allowed`.
    public func search(batch queries: [Float], k: Int, allowed: Set<Int64>) -> [[SearchHit]] {
        guard !allowed.isEmpty else { return Array(repeating: [], count: queries.count / dimensions) }
        return batchSearch(
            queries, k: k, excluding: nil, blockFloats: Self.maxBlockFloats,
            accept: { allowed.contains($0) })
    }
}
