import Foundation
import Testing
@testable import SatSeekCatalog

@Suite struct CollectionTests {
    func catalogWithItems(_ folder: TempFolder, count: Int = 5) throws -> (Catalog, [Int64]) {
        let catalog = try Catalog(path: folder.path("c.satseek"), create: true)
        try catalog.bind(ModelBinding(modelID: "toy-model", dimensions: 2))
        let ids = try catalog.upsert(
            (0..<count).map { (makeRecord("/data/A/\($0).jpg", hash: "h\($0)"), [Float($0), 1]) })
        return (catalog, ids)
    }

    @Test("labels are stored, replaced, removed and counted; deleting an item drops its labels")
    func lifecycle() throws {
        let folder = try TempFolder()
        defer { folder.cleanup() }
        let (catalog, ids) = try catalogWithItems(folder)
        try catalog.setLabels([(ids[0], 1), (ids[1], 1), (ids[2], -1)], inCollection: "ports", create: true)
        var ports = try catalog.collection(named: "ports")
        #expect(ports.positives == 2 && ports.negatives == 1)
        try catalog.setLabels([(ids[1], -1)], inCollection: "ports")
        ports = try catalog.collection(named: "ports")
        #expect(ports.positives == 1 && ports.negatives == 2)
        #expect(try catalog.removeLabels([ids[2], ids[4]], fromCollection: "ports") == 1)
        #expect(try catalog.labels(inCollection: "ports").map(\.itemID).sorted() == [ids[0], ids[1]])
        try catalog.remove(ids: [ids[0]])
        #expect(try catalog.labels(inCollection: "ports").map(\.itemID) == [ids[1]])
        // Reopened, the collection is still there.
        let reopened = try Catalog(path: catalog.path, create: false)
        #expect(try reopened.collections().map(\.name) == ["ports"])
        try reopened.deleteCollection("ports")
        #expect(try reopened.collections().isEmpty)
        #expect(try reopened.count() == 4, "deleting a collection keeps its items")
    }

    @Test("bad input names the thing and changes nothing")
    func refusals() throws {
        let folder = try TempFolder()
        defer { folder.cleanup() }
        let (catalog, ids) = try catalogWithItems(folder)
        try catalog.createCollection("fields")
        #expect(throws: CollectionError.nameTaken(path: catalog.path, name: "fields")) {
            try catalog.createCollection("fields")
        }
        #expect(throws: CollectionError.unknownCollection(path: catalog.path, name: "nope", known: ["fields"])) {
            try catalog.labels(inCollection: "nope")
        }
        #expect(throws: CollectionError.invalidName("  ")) { try catalog.createCollection("  ") }
        try catalog.setLabels([(ids[0], 1)], inCollection: "fields")
        // One unknown id: the whole call is refused and the earlier label stays as it was.
        #expect(throws: CollectionError.unknownItems(path: catalog.path, ids: [999])) {
            try catalog.setLabels([(ids[0], -1), (999, 1)], inCollection: "fields")
        }
        #expect(try catalog.labels(inCollection: "fields").map(\.label) == [1])
        #expect(throws: CollectionError.invalidLabel(0)) {
            try catalog.setLabels([(ids[1], 0)], inCollection: "fields")
        }
        #expect(throws: CollectionError.self) { try catalog.setLabels([(ids[1], 1)], inCollection: "other") }
        #expect(throws: CollectionError.unknownItems(path: catalog.path, ids: [777])) {
            try catalog.setLabels([(777, 1)], inCollection: "new", create: true)
        }
        #expect(try catalog.collections().map(\.name) == ["fields"], "a refused call creates no collection")
    }

    @Test("samples of ids are repeatable for a seed, distinct, and prefixes of longer samples")
    func samples() throws {
        let folder = try TempFolder()
        defer { folder.cleanup() }
        let (catalog, ids) = try catalogWithItems(folder, count: 30)
        let a = try catalog.sampleIDs(count: 10, seed: 3)
        #expect(a == (try catalog.sampleIDs(count: 10, seed: 3)))
        #expect(Set(a).count == 10 && Set(a).isSubset(of: Set(ids)))
        #expect(try catalog.sampleIDs(count: 100, seed: 3).count == 30)
        // The order is total: a shorter sample is a prefix of a longer one (Archive draws once per revision).
        #expect(Array(try catalog.sampleIDs(count: 20, seed: 3).prefix(10)) == a)
    }
}
