import Foundation
import Testing
@testable import SatSeekModels

@Suite("ImageNet class names")
struct ImageNetLabelsTests {
    static func table(lines: Int) -> String {
        (0..<lines).map { "n\(String(format: "%08d", $0))\tlabel \($0), other name" }.joined(separator: "\n") + "\n"
    }

    @Test("a table of 1 000 synset–lemma lines parses in order; anything else is refused with the line")
    func parsing() throws {
        let labels = try ImageNetLabels.parse(Self.table(lines: 1000), path: "t.tsv")
        #expect(labels.count == 1000 && labels[7].lemmas == "label 7, other name")
        #expect { try ImageNetLabels.parse(Self.table(lines: 999), path: "t.tsv") } throws: {
            "\($0)".contains("999 lines, expected 1000")
        }
        var broken = Self.table(lines: 1000).split(separator: "\n").map(String.init)
        broken[41] = "n00000041 no tab here"
        #expect { try ImageNetLabels.parse(broken.joined(separator: "\n"), path: "t.tsv") } throws: {
            "\($0)".contains("line 42")
        }
    }

    @Test("a file over 1 MiB or not UTF-8 is refused before it is parsed")
    func hostileFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("big.tsv")
        try Data(repeating: 0x41, count: 1 << 20 + 1).write(to: big)
        #expect { try ImageNetLabels(contentsOf: big) } throws: { "\($0)".contains("under 1 MiB") }
        let binary = folder.appendingPathComponent("binary.tsv")
        try Data([0xff, 0xfe, 0x00, 0x80]).write(to: binary)
        #expect { try ImageNetLabels(contentsOf: binary) } throws: { "\($0)".contains("UTF-8") }
    }

    @Test(
        "the installed names are ImageNet-1k's, in classifier order",
        .enabled(if: ModelStore().imageNetLabelsFile != nil))
    func installed() throws {
        let labels = try ModelStore().imageNetLabels().labels
        #expect(labels[0] == .init(synset: "n01440764", lemmas: "tench, Tinca tinca"))
        #expect(labels[404].lemmas == "airliner")
        #expect(Set(labels.map(\.synset)).count == 1000)
    }
}
