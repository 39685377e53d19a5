/// Retrieval quality measures as used in remote-sensing CBIR papers.
///
/// For a ranked list truncated at K, with `rel_i` = 1 when the i-th result has the query's class:
/// - P@K = (Σ_{i≤K} rel_i) / K
/// - AP@K = (1 / min(K, R)) · Σ_{i≤K} P@i · rel_i, where R is the number of relevant items in the archive
///   (the query itself excluded). Normalising by min(K, R) makes a perfect ranking score 1 even when a class
///   has fewer than K other members.
/// - mAP@K = mean of AP@K over all queries.
public enum RetrievalMetrics {
    /// AP@K of one ranked list of relevance flags (already truncated to K or longer).
    public static func averagePrecision(_ relevant: [Bool], k: Int, relevantInArchive: Int) -> Double {
        let denominator = min(k, relevantInArchive)
        guard denominator > 0 else { return 0 }
        var hits = 0
        var sum = 0.0
        for (i, isRelevant) in relevant.prefix(k).enumerated() where isRelevant {
            hits += 1
            sum += Double(hits) / Double(i + 1)
        }
        return sum / Double(denominator)
    }

    /// P@K of one ranked list (fewer than K results count the missing ones as not relevant).
    public static func precision(_ relevant: [Bool], k: Int) -> Double {
        guard k > 0 else { return 0 }
        return Double(relevant.prefix(k).filter { $0 }.count) / Double(k)
    }
}
