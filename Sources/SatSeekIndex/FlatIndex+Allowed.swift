extension FlatIndex {
    /// The `k` best hits for `query` among the ids in `allowed` only (e.g. the chips inside a map box),
    /// skipping ids in `excluding`. An empty `allowed` set returns no hits.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>, excluding: Set<Int64> = []) -> [SearchHit] {
        guard !allowed.isEmpty else { return [] }
        var skip = excluding
        for id in ids where !allowed.contains(id) { skip.insert(id) }
        return search(query, k: k, excluding: skip)
    }
}
