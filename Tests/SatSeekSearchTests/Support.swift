import Foundation
import Testing
@_exported import SatSeekTestSupport

/// A fresh temporary folder holding `data/` with `perClass` aid-mini images of each class, and the path of a
/// catalog named `catalog` beside it (not created); the caller removes `root`.
func sampleFolder(
    _ label: String, classes: [String], perClass: Int, catalog: String = "test.satseek"
) throws
    -> (root: URL, data: URL, db: String)
{
    let root = try temporaryFolder(label)
    let data = root.appendingPathComponent("data")
    try copySample(classes: classes, perClass: perClass, into: data)
    return (root, data, root.appendingPathComponent(catalog).path)
}

/// A valid 1×1 RGBA PNG.
let onePixelPNG = Data(
    base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")!

/// Writes the four kinds of bad input the indexer must survive into `folder`.
func writeBadFiles(into folder: URL, validJPEG: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let jpeg = try Data(contentsOf: validJPEG)
    try jpeg.prefix(jpeg.count / 2).write(to: folder.appendingPathComponent("truncated.jpg"))
    try Data("this is not an image\n".utf8).write(to: folder.appendingPathComponent("notes.tif"))
    try Data().write(to: folder.appendingPathComponent("empty.jpg"))
    try onePixelPNG.write(to: folder.appendingPathComponent("tiny.png"))
}
