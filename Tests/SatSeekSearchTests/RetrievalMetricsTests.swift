import Testing
@testable import SatSeekSearch
import SatSeekEvaluation

@Test("AP@K is normalised by min(K, relevant in archive)")
func averagePrecisionConvention() {
    // Perfect ranking with fewer relevant items than K still scores 1.
    #expect(RetrievalMetrics.averagePrecision([true, true, false, false], k: 4, relevantInArchive: 2) == 1)
    // Relevant at ranks 1 and 3 of K=3 with 5 relevant in the archive: (1/1 + 2/3) / 3.
    let ap = RetrievalMetrics.averagePrecision([true, false, true], k: 3, relevantInArchive: 5)
    #expect(abs(ap - (1 + 2.0 / 3) / 3) < 1e-12)
    #expect(RetrievalMetrics.averagePrecision([false, false], k: 2, relevantInArchive: 3) == 0)
    #expect(RetrievalMetrics.averagePrecision([true], k: 5, relevantInArchive: 0) == 0)
    // Items beyond K do not count.
    #expect(RetrievalMetrics.averagePrecision([false, true, true], k: 1, relevantInArchive: 2) == 0)
}

@Test("P@K counts relevant results in the first K, missing results as misses")
func precisionAtK() {
    #expect(RetrievalMetrics.precision([true, false, true, true], k: 4) == 0.75)
    #expect(RetrievalMetrics.precision([true], k: 4) == 0.25)
    #expect(RetrievalMetrics.precision([true, true], k: 1) == 1)
}

@Test("progress line shows counts, rate and ETA")
func progressLine() {
    let snapshot = ProgressSnapshot(done: 50, total: 100, skipped: 10, failed: 2, elapsed: 4)
    #expect(snapshot.rate == 10)
    #expect(snapshot.eta == 5)
    let line = snapshot.line(width: 10)
    #expect(line.hasPrefix("[#####-----] 50/100"))
    #expect(
        line.contains("10.0 img/s") && line.contains("ETA 0:05") && line.contains("skipped 10")
            && line.contains("failed 2"))
}
