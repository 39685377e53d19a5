import ArgumentParser
import Foundation
import SatSeekSearch
import SatSeekModels

@main
struct SatSeekCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "satseek",
        abstract: "Content-based image retrieval for satellite and aerial imagery.",
        discussion: """
            Index a folder of image tiles with a pretrained network, then find the tiles that look like a query.
              satseek models install effnet-lite0
              satseek index ../shared/datasets/aid-mini --db sample.satseek
              satseek search --db sample.satseek --image ../shared/datasets/aid-mini/Port/port_5.jpg -k 20
              satseek eval ../shared/datasets/aid-mini -k 20
            """,
        subcommands: [
            IndexCommand.self, SearchCommand.self, EvalCommand.self, TrainCommand.self, TrainTextCommand.self,
            EvalTextCommand.self, TrainSketchCommand.self, EvalSketchCommand.self, CalibrateCommand.self,
            EvalFeedbackCommand.self,
            CollectionsCommand.self,
            ExportCommand.self, ModelsCommand.self, BenchCommand.self, ServeCommand.self
        ])
}

/// Options shared by commands that read or write an index.
struct IndexOptions: ParsableArguments {
    @Option(name: .long, help: "Index file (SQLite catalog with embeddings).")
    var db: String = "satseek.satseek"

    @Option(
        name: .long,
        help: "Embedding model: effnet-lite0|1|2, or NAME:PATH for your own checkpoint of that architecture.")
    var model: String = ModelStore.defaultModel

    @Option(
        help: "Arithmetic of the image network: float32, or int8 (EfficientNet-Lite, after `satseek calibrate DIR`).")
    var precision: Precision = .float32

    /// `--model` in `--precision`, as ModelStore loads it.
    var modelSpec: String { ModelStore.spec(model, int8: precision == .int8) }
}

/// Prints a value as pretty, stable JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Writes to standard error (progress and diagnostics stay out of `--json` output).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// Turns any error into a clean one-line message and a non-zero exit.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw reported(error)
    }
}

/// ``runReportingErrors(_:)`` for async commands.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw reported(error)
    }
}

/// Prints an error as one line and turns it into a failing exit (argument-parser exits pass through).
private func reported(_ error: any Error) -> any Error {
    if error is ExitCode || error is CleanExit || error is ValidationError { return error }
    printError("error: \(error)")
    return ExitCode.failure
}

extension String {
    /// Left-aligned in a column of `width` characters (never truncated).
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
