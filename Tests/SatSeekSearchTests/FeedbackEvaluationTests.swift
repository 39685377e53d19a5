import Foundation
import Testing
import SatSeekCatalog
import SatSeekLearning
@testable import SatSeekSearch
import SatSeekEvaluation

/// The simulated-analyst protocol of `eval-feedback` on embeddings whose answer is known.
@Suite struct FeedbackEvaluationTests {
    /// A catalog of `classes` × `perClass` vectors: class axis + shared offset + noise of `noise`.
    func catalog(classes: Int, perClass: Int, noise: Float, seed: UInt64) throws -> (Catalog, URL) {
        let folder = try temporaryFolder("feedback-eval")
        let catalog = try Catalog(path: folder.appendingPathComponent("c.satseek").path, create: true)
        let d = 16
        try catalog.bind(ModelBinding(modelID: "toy", dimensions: d))
        var random = RandomSource(seed: seed)
        var rows: [(record: ImageRecord, embedding: [Float])] = []
        for c in 0..<classes {
            for i in 0..<perClass {
                var v = (0..<d).map { _ in random.nextGaussian() * noise }
                v[c] += 1
                v[d - 1] += 2
                rows.append(
                    (
                        ImageRecord(
                            path: "/toy/c\(c)/\(i).png", className: "c\(c)", width: 8, height: 8, byteSize: 1,
                            modifiedAt: 0, contentHash: "\(c)-\(i)", modelID: "toy"), v
                    ))
            }
        }
        try catalog.upsert(rows)
        return (catalog, folder)
    }

    @Test("separable classes: every ranking is perfect and a random one is near the class share")
    func separable() throws {
        let (catalog, folder) = try catalog(classes: 4, perClass: 10, noise: 0.01, seed: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try FeedbackEvaluator.run(
            catalog: catalog, rounds: 2, perRound: 5, queries: nil, seed: 1,
            learners: [.rocchio, .logistic])
        #expect(result.queries == 40 && result.rows.count == 2 + 2 * 3)
        for row in result.rows where row.method != "random" {
            #expect(row.meanAveragePrecision > 0.999 && row.rPrecision > 0.999, "\(row)")
        }
        let random = try #require(result.rows.first { $0.method == "random" })
        #expect(random.meanAveragePrecision < 0.5)
    }

    @Test("overlapping classes: labels from two rounds raise full-ranking mAP above the single image")
    func feedbackHelps() throws {
        let (catalog, folder) = try catalog(classes: 6, perClass: 20, noise: 0.45, seed: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try FeedbackEvaluator.run(
            catalog: catalog, rounds: 2, perRound: 10, queries: 40, seed: 3,
            learners: [.rocchio, .logistic])
        let single = try #require(result.rows.first { $0.method == "single-image" }).meanAveragePrecision
        for learner in ["rocchio", "logistic"] {
            let rows = result.rows.filter { $0.method == learner }.sorted { $0.round < $1.round }
            #expect(rows.count == 3)
            #expect(rows[2].meanAveragePrecision > rows[0].meanAveragePrecision + 0.05, "\(learner): \(rows)")
            #expect(rows[2].meanAveragePrecision > single + 0.05, "\(learner) vs single \(single)")
        }
        #expect(result.queries == 40)
    }
}
