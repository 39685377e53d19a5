import ArgumentParser
import Foundation
import SatSeekModels
import SatSeekCatalog
import SatSeekSearch

/// `satseek collections`: named labelled sets of items (relevance-feedback sessions) in a catalog.
struct CollectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collections",
        abstract:
            "Named sets of items labelled relevant (+1) or not (-1): list, show, add, remove, delete, export, import.",
        discussion: """
              satseek collections add harbours --db a.satseek --positive 17 --positive 52 --negative 90
              satseek search --db a.satseek --collection harbours -k 20
              satseek collections export harbours --db a.satseek --format geojson --out harbours.geojson
            """,
        subcommands: [List.self, Show.self, Add.self, Remove.self, Delete.self, Export.self, Import.self])

    struct CatalogOption: ParsableArguments {
        @Option(name: .long, help: "Index file (SQLite catalog).")
        var db: String = "satseek.satseek"

        func open() throws -> Catalog { try Catalog(path: db, create: false) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the collections with their label counts.")
        @OptionGroup var catalog: CatalogOption
        @Flag(help: "Print as JSON on stdout.") var json = false

        func run() throws {
            try runReportingErrors {
                let all = try catalog.open().collections()
                if json { return try printJSON(all) }
                if all.isEmpty { return print("no collections in \(catalog.db)") }
                print("name".padded(30) + "positives".padded(11) + "negatives")
                for c in all { print(c.name.padded(30) + String(c.positives).padded(11) + String(c.negatives)) }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a collection's labelled items.")
        @Argument(help: "Collection name.") var name: String
        @OptionGroup var catalog: CatalogOption
        @Flag(help: "Print as JSON on stdout.") var json = false

        func run() throws {
            try runReportingErrors {
                let opened = try catalog.open()
                let labels = try opened.labels(inCollection: name)
                if json { return try printJSON(labels) }
                let records = try opened.records(ids: labels.map(\.itemID))
                print("label  " + "id".padded(8) + "class".padded(20) + "path")
                for label in labels {
                    let record = records[label.itemID]
                    print(
                        (label.label > 0 ? "  +1   " : "  -1   ") + String(label.itemID).padded(8)
                            + (record?.className ?? "").padded(20) + (record?.path ?? ""))
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Label items in a collection (created when new; a new label replaces an old one).")
        @Argument(help: "Collection name.") var name: String
        @OptionGroup var catalog: CatalogOption
        @Option(name: .customLong("positive"), help: "Id of an item to label +1 (repeat).") var positives: [Int64] = []
        @Option(name: .customLong("negative"), help: "Id of an item to label -1 (repeat).") var negatives: [Int64] = []
        @Flag(help: "Fail when the collection does not exist yet instead of creating it.") var existing = false

        func run() throws {
            try runReportingErrors {
                guard !positives.isEmpty || !negatives.isEmpty else {
                    throw ValidationError("give items: --positive ID and/or --negative ID")
                }
                let opened = try catalog.open()
                try opened.setLabels(
                    positives.map { ($0, 1) } + negatives.map { ($0, -1) }, inCollection: name,
                    create: !existing)
                let c = try opened.collection(named: name)
                print("\(name): \(c.positives) positive, \(c.negatives) negative")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove items' labels from a collection.")
        @Argument(help: "Collection name.") var name: String
        @Argument(help: "Item ids.") var ids: [Int64]
        @OptionGroup var catalog: CatalogOption

        func run() throws {
            try runReportingErrors {
                let removed = try catalog.open().removeLabels(ids, fromCollection: name)
                print("\(name): \(removed) label(s) removed")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a collection and its labels (the items stay).")
        @Argument(help: "Collection name.") var name: String
        @OptionGroup var catalog: CatalogOption

        func run() throws {
            try runReportingErrors {
                try catalog.open().deleteCollection(name)
                print("deleted collection \(name)")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a collection's items with their labels as GeoJSON or CSV.")
        @Argument(help: "Collection name.") var name: String
        @OptionGroup var catalog: CatalogOption
        @Option(help: "geojson or csv.") var format: ArchiveExport.Format = .geojson
        @Option(help: "Output file (- for stdout).") var out: String = "-"

        func run() throws {
            try runReportingErrors {
                let opened = try catalog.open()
                let labels = try opened.labels(inCollection: name)
                let data = try ArchiveExport.render(
                    ArchiveExport.entries(labels), catalog: opened, format: format,
                    gazetteer: try ModelStore().gazetteer())
                try emit(data, to: out)
            }
        }
    }
}

extension CollectionsCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Label items from an exported GeoJSON or CSV file (matched by path) into a new collection.")
        @Argument(help: "Collection name (must not exist yet).") var name: String
        @Argument(
            help: "GeoJSON or CSV written by `export` / `collections export` (columns or properties path and label).")
        var file: String
        @OptionGroup var catalog: CatalogOption

        func run() throws {
            try runReportingErrors {
                let opened = try catalog.open()
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                let (labels, unknown) = try ArchiveExport.labels(in: data, name: file, catalog: opened)
                guard !labels.isEmpty else {
                    throw ValidationError("\(file): no labelled items of \(catalog.db) in it")
                }
                if (try? opened.collection(named: name)) != nil {
                    throw CollectionError.nameTaken(path: catalog.db, name: name)
                }
                try opened.setLabels(labels, inCollection: name, create: true)
                let c = try opened.collection(named: name)
                print(
                    "\(name): \(c.positives) positive, \(c.negatives) negative"
                        + (unknown.isEmpty ? "" : "; \(unknown.count) path(s) not in \(catalog.db), e.g. \(unknown[0])")
                )
            }
        }
    }
}

/// Writes export bytes to a file (atomically) or stdout.
func emit(_ data: Data, to path: String) throws {
    if path == "-" {
        FileHandle.standardOutput.write(data)
        if data.last != 0x0A { FileHandle.standardOutput.write(Data("\n".utf8)) }
    } else {
        try ArchiveExport.write(data, to: path)
        printError("wrote \(path) (\(data.count) bytes)")
    }
}

extension ArchiveExport.Format: ExpressibleByArgument {}
