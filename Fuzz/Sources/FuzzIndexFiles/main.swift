import Foundation
import FuzzSupport
import SatSeekIndex

// The three index file kinds on arbitrary bytes, with the payload checksum skipped (a crafted file can carry a
// valid one): each must open or throw IndexFileError, and an opened index must answer a search.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndexFiles(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let path = fuzzFile(bytes, count, suffix: ".ssidx")
    if let flat = try? FlatIndex.open(path, verifyChecksum: false), flat.dimensions <= 4096 {
        _ = flat.search([Float](repeating: 0.5, count: flat.dimensions), k: 5, excluding: [])
    }
    if let graph = try? HNSWIndex.open(path, verifyChecksum: false), graph.dimensions <= 4096 {
        _ = graph.search([Float](repeating: 0.5, count: graph.dimensions), k: 5, excluding: [])
    }
    if let binary = try? BinaryIndex.open(path, verifyChecksum: false), binary.wordsPerCode <= 64 {
        _ = binary.search([UInt64](repeating: 0x5555_5555_5555_5555, count: binary.wordsPerCode), k: 5)
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    // `SATSEEK_FUZZ_SEEDS=DIR`: write small valid files (the writers' own output) as the seed corpus, and stop.
    writeSeedsIfAsked { folder in
        let vectors = (0..<64).map { Float(($0 * 37) % 11) / 10 - 0.5 }
        let ids = (0..<16).map { Int64($0 * 3 + 1) }
        try FlatIndex(dimensions: 4, ids: ids, vectors: vectors).write(to: folder + "/flat-cosine.ssidx", modelID: "m")
        try FlatIndex(dimensions: 4, metric: .l2, storage: .int8, ids: ids, vectors: vectors)
            .write(to: folder + "/flat-l2-int8.ssidx", modelID: "m")
        var graph = HNSWIndex(dimensions: 4, parameters: .init(M: 4, efConstruction: 16))
        graph.add(ids: ids, vectors: vectors)
        try graph.write(to: folder + "/hnsw.ssidx", modelID: "m", sourceRevision: 3)
        try BinaryIndex(bits: 64, ids: Array(ids.prefix(8)), codes: (0..<8).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 })
            .write(to: folder + "/binary.ssidx", modelID: "m")
    }
}

@_cdecl("FuzzIndexFiles_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzerDriver(argc, argv) { fuzzIndexFiles($0, $1) }
}
