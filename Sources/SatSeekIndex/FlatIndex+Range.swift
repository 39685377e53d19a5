extension FlatIndex {
    /// Every stored vector scoring at least `minimumScore` against `query`, best first (ties by smaller id),
    /// among the ids `accept` lets through (nil: all) — a range search, the exact side of "find all".
    public func search(_ query: [Float], minimumScore: Float, accept: (@Sendable (Int64) -> Bool)? = nil) -> [SearchHit]
    {
        guard count > 0 else { return [] }
        let scores = scoreAll(query)
        var hits: [SearchHit] = []
        withView { view in
            for row in 0..<view.count where scores[row] >= minimumScore {
                let id = view.ids[row]
                if accept?(id) ?? true { hits.append(SearchHit(id: id, score: scores[row])) }
            }
        }
        hits.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return hits
    }
}
