/// A check of a public entry point's arguments that stays in every build.
///
/// This module is compiled with `-Ounchecked` in release builds, which removes `precondition`s: a query vector of
/// the wrong length would then read past the rows instead of stopping. `checkArgument` stops the process with
/// the message at every optimisation level. (Callers that can recover validate first: the store layer throws.)
@inline(__always)
func checkArgument(
    _ condition: Bool, _ message: @autoclosure () -> String = "invalid argument", file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition { fatalError(message(), file: file, line: line) }
}
