import Foundation
import Testing
import SatSeekTestSupport
import SatSeekImaging
import SatSeekCatalog
import SatSeekLearning
import SatSeekModels
import SatSeekStore
@testable import SatSeekSearch

/// The installed sentence encoder, or nil (a failure when SATSEEK_REQUIRE_MODELS=1).
func installedSentenceEmbedder() throws -> SentenceTextEmbedder? {
    let store = ModelStore()
    if store.miniLMDirectory != nil { return try store.sentenceEmbedder() }
    if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
        Issue.record(
            "all-minilm-l6-v2 is not installed in \(store.directory.path); run `satseek models install all-minilm-l6-v2`"
        )
    }
    return nil
}

@Suite("Text→image search")
struct TextSearchTests {
    @Test("class folder names become phrases and prompts")
    func phrases() {
        #expect(ClassPrompts.phrase(forClass: "DenseResidential") == "dense residential")
        #expect(ClassPrompts.phrase(forClass: "aGrass") == "grass")
        #expect(ClassPrompts.phrase(forClass: "dRiverLake") == "river lake")
        #expect(ClassPrompts.phrase(forClass: "storage_tanks") == "storage tanks")
        #expect(ClassPrompts.phrase(forClass: "Port") == "port")
        let prompts = ClassPrompts.prompts(forClass: "Port", includeSynonyms: true)
        #expect(prompts.contains("an aerial photo of port"))
        #expect(prompts.contains("satellite image showing a harbor with boats"))
        #expect(ClassPrompts.prompts(forClass: "Port", includeSynonyms: false).count == ClassPrompts.templates.count)
    }

    @Test("an alignment learns to map each cluster onto its class text; its file round-trips and detects damage")
    func alignmentTraining() throws {
        var random = RandomSource(seed: 3)
        let dims = 16, classes = 3, perClass = 20
        let centres = (0..<classes).map { _ in (0..<dims).map { _ in random.nextGaussian() } }
        var features: [Float] = [], labels: [Int] = []
        for c in 0..<classes {
            for _ in 0..<perClass {
                features += centres[c].map { $0 + 0.3 * random.nextGaussian() }
                labels.append(c)
            }
        }
        var texts = Matrix(rows: classes, columns: 8)  // orthonormal class texts
        for c in 0..<classes { texts[c, c] = 1 }
        var configuration = AlignmentConfiguration()
        configuration.steps = 200
        let trained = try TextAlignment.train(
            features: features, imageDimensions: dims, labels: labels,
            classTexts: texts, configuration: configuration)
        let alignment = TextAlignment(
            layer: trained.layer, imageModelID: "img@x", textModelID: "txt@y",
            classes: ["a", "b", "c"], templates: ["{}"], configuration: configuration,
            images: labels.count, finalLoss: trained.loss)
        let mapped = alignment.map(features, count: labels.count)
        for (i, label) in labels.enumerated() {
            let row = mapped[(i * 8)..<((i + 1) * 8)]
            let best = (0..<classes).max { row[row.startIndex + $0] < row[row.startIndex + $1] }!
            #expect(best == label, "image \(i) of class \(label) lands nearest class \(best)")
        }
        #expect(alignment.kind == "text:txt@y:\(alignment.header.id)")

        let folder = try temporaryFolder("align")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.satseek-align").path
        try AlignmentFile.write(alignment, to: path)
        #expect(try AlignmentFile.read(path) == alignment)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect { try AlignmentFile.read(path) } throws: { "\($0)".contains(path) && "\($0)".contains("checksum") }
        #expect(throws: LearningError.self) {
            try TextAlignment.train(
                features: features, imageDimensions: dims, labels: labels.map { _ in 0 },
                classTexts: Matrix(rows: 1, columns: 8), configuration: configuration)
        }
    }

    @Test(
        "train-text, index --align and search --text: a harbour sentence finds the Port images",
        .enabled(if: weightsInstalled))
    func offlineTextSearch() async throws {
        guard let sentence = try installedSentenceEmbedder() else { return }
        let (root, data, db) = try sampleFolder(
            "text-search", classes: ["Port", "Forest", "BaseballField", "Desert"], perClass: 6, catalog: "x.satseek")
        defer { try? FileManager.default.removeItem(at: root) }
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)
        let alignPath = root.appendingPathComponent("a.satseek-align").path
        var configuration = AlignmentConfiguration()
        configuration.steps = 150
        let report = try TextAlignmentWorkflow.run(
            session: session, folder: data.path, textEmbedder: sentence,
            configuration: configuration, output: alignPath,
            indexProgress: { _ in }, trainingProgress: { _, _ in })
        #expect(report.images == 24 && report.classes == 4)

        #expect { try TextSearcher(session: session) } throws: { "\($0)".contains("train-text") }
        var indexer = try session.indexer()
        indexer.auxiliaries = [try AlignmentAuxiliary(path: alignPath, imageModelID: session.model.modelID)]
        let reindexed = try indexer.index(data.path)
        #expect(reindexed.failures.isEmpty)
        let searcher = try TextSearcher(session: session)
        let results = try searcher.search(text: "harbor with many boats", k: 5)
        #expect(results.count == 5)
        #expect(results.prefix(3).allSatisfy { $0.className == "Port" }, "\(results.map(\.className))")
        #expect(try searcher.search(text: "sand dunes in the desert", k: 3).first?.className == "Desert")
        #expect(throws: SearchError.self) { try searcher.search(text: "   ", k: 3) }
        #expect(throws: LearningError.self) { try AlignmentAuxiliary(path: alignPath, imageModelID: "effnet-lite1@x") }

        // Composed queries: a Forest item modified by a harbour sentence. Text weight 1 ranks like the sentence,
        // 0 like the item's own aligned vector, and the item is never its own result.
        let archive = try Archive(session: session)
        let forest = try #require(try session.catalog.allRecords().first { $0.className == "Forest" })
        let forestID = try #require(forest.id)
        func composed(_ weight: Float) async throws -> [SearchResult] {
            try await archive.search(
                .item(forestID), modifiedBy: "harbor with many boats", textWeight: weight, k: 5)
        }
        let textOnly = try searcher.search(text: "harbor with many boats", k: 6).filter { $0.id != forestID }
        #expect(try await composed(1).map(\.id) == Array(textOnly.prefix(5).map(\.id)))
        let imageOnly = try await composed(0)
        #expect(imageOnly.allSatisfy { $0.id != forestID })
        #expect(imageOnly.prefix(3).allSatisfy { $0.className == "Forest" }, "\(imageOnly.map(\.className))")
        #expect(try await composed(0.75).prefix(3).allSatisfy { $0.className == "Port" })
        await #expect(throws: SearchError.self) {
            try await archive.search(.item(forestID), modifiedBy: "boats", textWeight: 1.5, k: 3)
        }
        // An image file goes through the alignment file the index was built with: the same image as the item
        // ranks exactly as the item does.
        let fromFile = try await archive.search(
            .imageFile(forest.path), modifiedBy: "harbor with many boats", textWeight: 0.75, k: 6)
        let fromItem = try await archive.search(
            .item(forestID), modifiedBy: "harbor with many boats", textWeight: 0.75, k: 5)
        #expect(fromFile.filter { $0.id != forestID }.prefix(5).map(\.id) == fromItem.map(\.id))
        try FileManager.default.moveItem(atPath: alignPath, toPath: alignPath + ".moved")
        let moved = try Archive(session: session)
        await #expect {
            try await moved.search(.imageFile(forest.path), modifiedBy: "boats", textWeight: 0.5, k: 3)
        } throws: { "\($0)".contains("is gone") }
    }

    @Test(
        "label prior: class names find their images untrained; with an alignment, untrained names get the labels",
        .enabled(if: weightsInstalled && ModelStore().imageNetLabelsFile != nil))
    func labelPriorSearch() throws {
        guard let sentence = try installedSentenceEmbedder() else { return }
        let classes = ["Bridge", "Beach", "Meadow", "StorageTanks"]
        let (root, data, db) = try sampleFolder("label-prior", classes: classes, perClass: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let session = try SearchSession(db: db, model: ModelStore.defaultModel, create: true)
        let prior = try #require(try LabelPriorText.prior(for: session.model, textEmbedder: sentence))
        let labels = LabelPriorAuxiliary(prior: prior, textModelID: sentence.modelID)
        var indexer = try session.indexer()
        indexer.auxiliaries = [labels]
        #expect(try indexer.index(data.path).added == 24)

        let queries = try ClassTextEmbeddings.compute(classes: classes, embedder: sentence, includeSynonyms: false)
        func query(_ name: String) -> [Float] {
            let row = classes.firstIndex(of: name)!
            return Array(queries.values[(row * queries.columns)..<((row + 1) * queries.columns)])
        }
        func top(_ searcher: TextSearcher, _ name: String, k: Int = 3, filter: SearchFilter = .none) throws -> [String]
        {
            try SearchResult.ranked(try searcher.hits(for: query(name), k: k, filter: filter), catalog: session.catalog)
                .map(\.className)
        }
        let alone = try TextSearcher(session: session)
        #expect(alone.mode == labels.kind && alone.index == nil)
        for name in classes {
            let found = try top(alone, name)
            #expect(found.first == name && found.filter { $0 == name }.count >= 2, "\(name): \(found)")
        }
        let bridges = try alone.hits(for: query("Bridge"), k: 2)
        let excluded = try alone.hits(for: query("Bridge"), k: 2, filter: SearchFilter(excluded: [bridges[0].id]))
        #expect(excluded.first?.id == bridges[1].id, "filters apply to label-prior results")

        // An alignment trained on three of the classes (in its own folder and catalog).
        let (trainRoot, trainData, trainDB) = try sampleFolder(
            "label-prior-train", classes: ["Bridge", "Beach", "Meadow"], perClass: 6)
        defer { try? FileManager.default.removeItem(at: trainRoot) }
        let alignPath = trainRoot.appendingPathComponent("a.satseek-align").path
        var configuration = AlignmentConfiguration()
        configuration.steps = 150
        _ = try TextAlignmentWorkflow.run(
            session: try SearchSession(db: trainDB, model: ModelStore.defaultModel, create: true),
            folder: trainData.path, textEmbedder: sentence, configuration: configuration, output: alignPath,
            indexProgress: { _ in }, trainingProgress: { _, _ in })
        let alignment = try AlignmentAuxiliary(path: alignPath, imageModelID: session.model.modelID)
        indexer.auxiliaries = [labels, alignment]
        _ = try indexer.index(data.path)
        let both = try TextSearcher(session: session)
        #expect(both.mode == "blend:\(alignment.kind)+\(labels.kind)")
        let classTexts = try #require(both.classTexts)
        #expect(classTexts.rows == 3, "the alignment's classes were kept with the catalog")
        func weight(_ query: [Float]) -> Float {
            both.blend.alignmentWeight(TextBlend.signals(of: query, classTexts: classTexts))
        }
        let familiar = weight(query("Beach"))
        let paraphrase = weight(try sentence.embed(text: "waves breaking on a sandy shore"))
        let unfamiliar = weight(query("StorageTanks"))
        #expect(
            familiar == 1 && paraphrase > 0.5 && unfamiliar < 0.5,
            "weights \(familiar), \(paraphrase), \(unfamiliar) with \(both.blend)")
        for name in classes {
            let found = try top(both, name)
            #expect(found.first == name, "\(name): \(found)")
        }
    }

    @Test(
        "text-side kinds of a damaged catalog ('labels:', 'text:x') are refused with a message, never trap",
        .enabled(if: ModelStore().miniLMDirectory != nil), arguments: ["labels:", "text:x"])
    func damagedTextKinds(kind: String) throws {
        struct Stored: AuxiliaryEmbedding {
            let kind: String
            var dimensions: Int { 3 }
            func embed(images: [RGBImage], backbone: [Float]) throws -> [Float] { backbone }
        }
        let (root, data, db) = try sampleFolder("odd-kind", classes: ["Beach"], perClass: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let catalog = try Catalog(path: db, create: true)
        var indexer = try Indexer(catalog: catalog, model: ChannelMeans())
        indexer.auxiliaries = [Stored(kind: kind)]
        #expect(try indexer.index(data.path).added == 2)
        #expect { try TextSearcher(session: SearchSession(catalog: catalog, model: ChannelMeans())) } throws: {
            "\($0)".contains(kind) && "\($0)".contains("installed sentence encoder")
        }
    }

    @Test(
        "class text embeddings are cached per text model and prompt set; a damaged cache file is recomputed",
        .enabled(if: weightsInstalled))
    func classTextCache() throws {
        guard let sentence = try installedSentenceEmbedder() else { return }
        final class Counting: TextEmbedder, @unchecked Sendable {
            let inner: SentenceTextEmbedder
            let lock = NSLock()
            var calls = 0
            init(_ inner: SentenceTextEmbedder) { self.inner = inner }
            var modelID: String { inner.modelID }
            var dimensions: Int { inner.dimensions }
            func embed(text: String) throws -> [Float] {
                lock.withLock { calls += 1 }
                return try inner.embed(text: text)
            }
        }
        let cache = try temporaryFolder("class-text-cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        let counting = Counting(sentence)
        let classes = ["Port", "Forest"]
        let direct = try ClassTextEmbeddings.compute(classes: classes, embedder: sentence, includeSynonyms: true)
        let first = try ClassTextEmbeddings.compute(
            classes: classes, embedder: counting, includeSynonyms: true, cache: cache)
        let prompts = classes.map { ClassPrompts.prompts(forClass: $0, includeSynonyms: true).count }.reduce(0, +)
        #expect(counting.calls == prompts && first.values == direct.values)
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted()
        #expect(files.count == 2 && files.allSatisfy { $0.hasPrefix("bert-") && $0.hasSuffix(".f32") }, "\(files)")
        let again = try ClassTextEmbeddings.compute(
            classes: classes, embedder: counting, includeSynonyms: true, cache: cache)
        #expect(counting.calls == prompts && again.values == direct.values, "read back, nothing embedded")
        // Without synonyms the prompts differ, so other files; a truncated file is recomputed.
        _ = try ClassTextEmbeddings.compute(classes: ["Port"], embedder: counting, includeSynonyms: false, cache: cache)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 3)
        try Data([1, 2, 3]).write(to: cache.appendingPathComponent(files[0]))
        let repaired = try ClassTextEmbeddings.compute(
            classes: classes, embedder: counting, includeSynonyms: true, cache: cache)
        #expect(repaired.values == direct.values && counting.calls > prompts + 1)
    }

    @Test("a composed query is the normalised weighted sum of the two unit vectors")
    func composedArithmetic() {
        #expect(ComposedQuery.combine(image: [3, 0], text: [0, 2], textWeight: 0) == [1, 0])
        #expect(ComposedQuery.combine(image: [3, 0], text: [0, 2], textWeight: 1) == [0, 1])
        let half = ComposedQuery.combine(image: [3, 0], text: [0, 2], textWeight: 0.5)
        let root = Float(0.5).squareRoot()
        #expect(abs(half[0] - root) < 1e-6 && abs(half[1] - root) < 1e-6)
        let quarter = ComposedQuery.combine(image: [1, 0], text: [0, 1], textWeight: 0.25)
        #expect(abs(quarter[1] / quarter[0] - 1.0 / 3.0) < 1e-6)
    }

    @Test("the blend weight is the larger of two ramps, and mixing standardises each side")
    func blendArithmetic() {
        let ramp = TextBlend.Ramp(low: 0.6, high: 0.8)
        #expect(ramp(0.2) == 0 && ramp(0.95) == 1 && abs(ramp(0.7) - 0.5) < 1e-6)
        #expect(TextBlend.Ramp(low: 0.5, high: 0.5)(0.49) == 0 && TextBlend.Ramp(low: 0.5, high: 0.5)(0.5) == 1)
        let blend = TextBlend(margin: TextBlend.Ramp(low: 0.1, high: 0.2), familiarity: ramp)
        #expect(abs(blend.alignmentWeight(.init(familiarity: 0.7, margin: 0.05)) - 0.5) < 1e-6)
        #expect(abs(blend.alignmentWeight(.init(familiarity: 0.3, margin: 0.175)) - 0.75) < 1e-6)
        #expect(blend.alignmentWeight(.init(familiarity: 0.3, margin: 0.05)) == 0)
        // Scales do not matter, only each side's standardised order.
        let mixed = TextBlend.mix(alignment: [0.10, 0.20, 0.30], prior: [30, 20, 10], alignmentWeight: 0.5)
        #expect(mixed.allSatisfy { abs($0) < 1e-5 }, "\(mixed)")
        let small = TextBlend.mix(alignment: [0.1, 0.2, 0.3], prior: [5, 5, 5], alignmentWeight: 1)
        let large = TextBlend.mix(alignment: [1, 2, 3], prior: [0, 9, 1], alignmentWeight: 1)
        #expect(zip(small, large).allSatisfy { abs($0 - $1) < 1e-5 }, "\(small) vs \(large)")
        #expect(TextBlend.mix(alignment: [1, 1], prior: [1, 1], alignmentWeight: 0.3) == [0, 0])
    }

    @Test("a query's margin is its nearest minus its second nearest class; calibration measures both ramps")
    func blendCalibration() throws {
        // Four unit class texts: two close together (0 and 1), two apart.
        func unit(_ v: [Float]) -> [Float] {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        let rows = [unit([1, 0.3, 0, 0]), unit([1, -0.3, 0, 0]), [0, 0, 1, 0], [0, 0, 0, 1]]
        let texts = Matrix(rows: 4, columns: 4, values: rows.flatMap { $0 })
        let onThird = TextBlend.signals(of: [0, 0, 1, 0], classTexts: texts)
        #expect(onThird.familiarity == 1 && onThird.margin == 1)
        let between = TextBlend.signals(of: [1, 0, 0, 0], classTexts: texts)
        #expect(abs(between.margin) < 1e-6 && between.familiarity > 0.9)
        let leftOut = TextBlend.signals(of: [0, 0, 1, 0], classTexts: texts, excluding: 2)
        #expect(leftOut.familiarity == 0 && leftOut.margin == 0)

        // Names a little off their class texts: known names pick their class out, left-out names do not.
        let names = Matrix(
            rows: 4, columns: 4,
            values: [unit([1, 0.35, 0.1, 0]), unit([1, -0.35, 0, 0.1]), unit([0.1, 0, 1, 0.1]), unit([0, 0.1, 0.1, 1])]
                .flatMap { $0 })
        let calibrated = TextBlend.calibrated(classTexts: texts, nameTexts: names)
        #expect(calibrated.margin.high > calibrated.margin.low, "\(calibrated)")
        #expect(calibrated.familiarity.high > calibrated.familiarity.low, "\(calibrated)")
        #expect(calibrated != TextBlend.fallback)
        let two = Matrix(rows: 2, columns: 4, values: Array(rows.prefix(2).joined()))
        #expect(TextBlend.calibrated(classTexts: two, nameTexts: two) == TextBlend.fallback)
    }

    @Test("a CLIP index answers text queries with CLIP's own text tower, and composed image + text queries")
    func clipTextSearch() async throws {
        let store = ModelStore()
        guard store.clipVocabularyFile != nil else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" {
                Issue.record("clip-bpe is not installed; run `satseek models install clip-bpe`")
            }
            return
        }
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SatSeekModelsTests/Golden/clip-tiny/openclip").path
        let root = try temporaryFolder("clip-search")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try copySample(classes: ["Port", "Forest"], perClass: 3, into: data)
        let session = try SearchSession(
            db: root.appendingPathComponent("c.satseek").path, model: "clip:\(tiny)", create: true)
        #expect(try session.indexer().index(data.path).added == 6)
        #expect(session.model.modelID == "clip-ViT-w64-l2-p8-i32@openclip")
        let searcher = try TextSearcher(session: session)
        #expect(searcher.mode == "clip")
        let results = try searcher.search(text: "ships docked in a harbor", k: 6)
        #expect(results.count == 6)
        let clip = try #require(session.model as? CLIPModel)
        let query = try store.clipTextEmbedder(for: clip).embed(text: "ships docked in a harbor")
        let top = try #require(try session.catalog.embedding(id: results[0].id))
        let score = zip(query, top).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        #expect(abs(score - results[0].score) < 1e-4)
        // A composed query in CLIP's own space: weight 1 is the text's ranking, 0 the image's, and in between the
        // query vector is the normalised weighted sum (the top score is its cosine with the top item).
        let archive = try Archive(session: session)
        let first = results[0].id
        let byText = try await archive.search(.item(first), modifiedBy: "ships docked in a harbor", textWeight: 1, k: 5)
        #expect(byText.map(\.id) == results.dropFirst().map(\.id))
        let byImage = try await archive.search(
            .item(first), modifiedBy: "ships docked in a harbor", textWeight: 0, k: 5)
        #expect(byImage.map(\.id) == (try await archive.search(.item(first), k: 5)).map(\.id))
        let half = try await archive.search(.item(first), modifiedBy: "ships docked in a harbor", textWeight: 0.5, k: 1)
        let mixed = ComposedQuery.combine(image: top, text: query, textWeight: 0.5)
        let halfTop = try #require(try session.catalog.embedding(id: half[0].id))
        #expect(abs(zip(mixed, halfTop).reduce(Float(0)) { $0 + $1.0 * $1.1 } - half[0].score) < 1e-4)
        // An index of another model is refused before loading CLIP weights.
        #expect(throws: Error.self) {
            try SearchSession(db: session.catalog.path, model: ModelStore.defaultModel, create: false)
        }
    }
}
