import Foundation
import Testing
import SatSeekCatalog
import SatSeekLearning
import SatSeekModels
@testable import SatSeekSearch
import SatSeekEvaluation

/// Synthetic clustered features: class signal in the first `signal` dimensions, noise in all of them.
private func clustered(
    classes: Int, perClass: Int, dimensions: Int, signal: Int = 8, seed: UInt64
) -> (features: [Float], labels: [Int]) {
    var random = RandomSource(seed: seed)
    let centres = (0..<classes).map { _ in (0..<signal).map { _ in random.nextGaussian() } }
    var features: [Float] = []
    var labels: [Int] = []
    for c in 0..<classes {
        for _ in 0..<perClass {
            for j in 0..<dimensions { features.append((j < signal ? centres[c][j] : 0) + random.nextGaussian()) }
            labels.append(c)
        }
    }
    return (features, labels)
}

@Suite("head training, split protocol and head search", .serialized)
struct HeadTrainingTests {
    @Test("the stratified split is per class, seeded and reproducible")
    func split() throws {
        let classes = (0..<30).map { "c\($0 % 3)" }
        let names = (0..<30).map { "c\($0 % 3)/img\($0).jpg" }
        let a = try DatasetSplit.stratified(classNames: classes, names: names, fraction: 0.6, seed: 7)
        let b = try DatasetSplit.stratified(classNames: classes, names: names, fraction: 0.6, seed: 7)
        let c = try DatasetSplit.stratified(classNames: classes, names: names, fraction: 0.6, seed: 8)
        #expect(a == b && a.train != c.train && a.trainFingerprint != c.trainFingerprint)
        #expect(a.train.count == 18 && a.test.count == 12 && Set(a.train + a.test).count == 30)
        for name in ["c0", "c1", "c2"] { #expect(a.train.filter { classes[$0] == name }.count == 6) }
        // Input order does not matter, only names.
        let order = Array((0..<30).reversed())
        let reversed = try DatasetSplit.stratified(
            classNames: order.map { classes[$0] }, names: order.map { names[$0] },
            fraction: 0.6, seed: 7)
        #expect(reversed.trainFingerprint == a.trainFingerprint)
        #expect(throws: SearchError.self) {
            try DatasetSplit.stratified(classNames: classes, names: names, fraction: 1, seed: 7)
        }
    }

    @Test(
        "training on clustered data raises held-out mAP above the untrained head's",
        arguments: [HeadOutput.codes, .float])
    func trainingImprovesMAP(_ output: HeadOutput) throws {
        let dims = 48
        let data = clustered(classes: 6, perClass: 30, dimensions: dims, seed: 11)
        let names = data.labels.indices.map { "c\(data.labels[$0])/\($0)" }
        let split = try DatasetSplit.stratified(
            classNames: data.labels.map { "c\($0)" }, names: names, fraction: 0.6, seed: 7)
        let train = split.train.flatMap { data.features[($0 * dims)..<(($0 + 1) * dims)] }
        let test = split.test.flatMap { data.features[($0 * dims)..<(($0 + 1) * dims)] }
        let trainLabels = split.train.map { data.labels[$0] }, testLabels = split.test.map { data.labels[$0] }
        var configuration = TrainingConfiguration()
        configuration.hiddenSizes = [64, 32]
        configuration.bits = 16
        configuration.output = output
        configuration.classesPerBatch = 6
        configuration.learningRate = 3e-3
        func mAP(_ head: MLPHead) -> Double {
            let q = head.embed(test, count: split.test.count), a = head.embed(train, count: split.train.count)
            let ranked =
                output == .codes
                ? SplitEvaluator.hammingRanking(queries: q, archive: a, bits: 16, k: 20)
                : SplitEvaluator.cosineRanking(queries: q, archive: a, dimensions: 16, k: 20)
            return SplitEvaluator.score(ranked: ranked, queryLabels: testLabels, archiveLabels: trainLabels, k: 20).map
        }
        configuration.epochs = 0
        let untrained = try Trainer.train(
            features: train, labels: trainLabels, dimensions: dims, configuration: configuration)
        configuration.epochs = 30
        let trained = try Trainer.train(
            features: train, labels: trainLabels, dimensions: dims, configuration: configuration)
        let before = mAP(untrained.head), after = mAP(trained.head)
        #expect(after > before + 0.1, "\(output): held-out mAP@20 \(before) → \(after)")
    }

    @Test(
        "train → index --head → Hamming search → split evaluation on real aid-mini images",
        .enabled(if: weightsInstalled))
    func endToEnd() throws {
        let (root, data, db) = try sampleFolder(
            "head", classes: ["Beach", "Forest", "Port", "Viaduct"], perClass: 5, catalog: "head.satseek")
        defer { try? FileManager.default.removeItem(at: root) }
        let headPath = root.appendingPathComponent("h.satseek-head").path
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)

        var configuration = TrainingConfiguration()
        configuration.hiddenSizes = [32]
        configuration.bits = 16
        configuration.epochs = 3
        configuration.classesPerBatch = 4
        configuration.imagesPerClass = 3
        var lines: [String] = []
        let report = try HeadTrainingWorkflow.run(
            session: session, folder: data.path, configuration: configuration,
            splitFraction: 0.6, k: 5, output: headPath,
            epochProgress: { lines.append($0.line()) })
        #expect(report.trainImages == 12 && report.testImages == 8 && report.classes == 4)
        #expect(lines.count == 3 && lines[0].contains("held-out mAP@5 codes") && lines[0].contains("ETA"), "\(lines)")
        let trained = try HeadFile.read(headPath, backboneModelID: session.model.modelID)
        #expect(trained.header.provenance?.trainImages == 12 && trained.header.metrics["codes_map@5"] != nil)

        // Another backbone: a clear error naming both.
        #expect(
            throws: LearningError.backboneMismatch(
                path: headPath, headBackbone: session.model.modelID,
                requested: "effnet-lite2@x")
        ) {
            try HeadAuxiliary(path: headPath, backboneModelID: "effnet-lite2@x")
        }

        // Before `index --head` there is nothing to search.
        #expect(throws: SearchError.self) { try HeadSearcher(session: session, headPath: headPath) }
        var indexer = try session.indexer()
        indexer.auxiliaries = [try HeadAuxiliary(path: headPath, backboneModelID: session.model.modelID)]
        let indexed = try indexer.index(data.path)
        #expect(indexed.updated == 20, "images lacking the head vector are processed again")
        #expect(try session.catalog.embeddings(kind: trained.kind).ids.count == 20)

        let searcher = try HeadSearcher(session: session, headPath: headPath)
        let item = try session.catalog.allRecords().first { $0.className == "Port" }!
        let hits = try searcher.search(itemID: item.id!, k: 5)
        #expect(hits.count == 5 && !hits.contains { $0.id == item.id })
        #expect(hits.allSatisfy { $0.score >= 0 && $0.score <= 1 })
        let reranked = try searcher.search(imageAt: item.path, k: 5, rerankDepth: 19)
        #expect(reranked.first?.id == item.id, "an indexed image finds itself first after re-ranking")

        let evaluation = try SplitEvaluator.run(
            catalog: session.catalog, folder: data.path, k: 5, fraction: 0.6, seed: 7,
            heads: [trained])
        #expect(evaluation.rows.map(\.representation) == ["raw features", "head float", "head codes"])
        #expect(evaluation.warnings.isEmpty && evaluation.queries == 8 && evaluation.archive == 12)
        #expect(abs(evaluation.rows[2].meanAveragePrecision - report.codesMAP!) < 1e-9)
        let otherSplit = try SplitEvaluator.run(
            catalog: session.catalog, folder: data.path, k: 5, fraction: 0.6, seed: 8,
            heads: [trained])
        #expect(otherSplit.warnings.count == 1)
    }

    @Test(
        "satseek train, eval --protocol split --head and search --head from the command line",
        .enabled(if: weightsInstalled))
    func commandLine() async throws {
        let (root, data, db) = try sampleFolder(
            "head-cli", classes: ["Beach", "Forest", "Port"], perClass: 4, catalog: "cli.satseek")
        defer { try? FileManager.default.removeItem(at: root) }
        let head = root.appendingPathComponent("cli.satseek-head").path
        let train = try await runSatSeek([
            "train", data.path, "--bits", "16", "--epochs", "2", "--hidden", "16",
            "--batch-classes", "3", "--batch-images", "2", "--db", db, "--out", head, "--json"
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("epoch 1/2") && train.stderr.contains("held-out mAP@20"), "\(train.stderr)")
        struct TrainOut: Decodable { let headID: String; let codesMAP: Double? }
        let trained = try JSONDecoder().decode(TrainOut.self, from: Data(train.stdout.utf8))
        #expect(trained.codesMAP != nil)

        let eval = try await runSatSeek([
            "eval", data.path, "--db", db, "--protocol", "split", "--head", head, "-k", "5"
        ])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(
            eval.stdout.contains("head codes 16 bits [\(trained.headID)]") && eval.stdout.contains("raw features"),
            "\(eval.stdout)")

        let missing = try await runSatSeek(["search", "--db", db, "--item", "1", "--head", head])
        #expect(missing.status != 0 && missing.stderr.contains("index"), "\(missing.stderr)")
        let index = try await runSatSeek(["index", data.path, "--db", db, "--head", head])
        #expect(index.status == 0, "\(index.stderr)")
        let search = try await runSatSeek([
            "search", "--db", db, "--item", "1", "--head", head, "--rerank", "-k", "3", "--json"
        ])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains("\"rank\" : 3"), "\(search.stdout)")
        let badHead = root.appendingPathComponent("bad.satseek-head").path
        try Data("not a head".utf8).write(to: URL(fileURLWithPath: badHead))
        let bad = try await runSatSeek(["index", data.path, "--db", db, "--head", badHead])
        #expect(bad.status != 0 && bad.stderr.contains("magic"), "\(bad.stderr)")
    }
}
