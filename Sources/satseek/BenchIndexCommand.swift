import ArgumentParser
import Foundation
import SatSeekIndex

/// `satseek bench index`: times the vector and Hamming indexes on matrices written by
/// `bench/index_peer.py gen` (compare with FAISS/hnswlib via bench/compare-index.sh).
///
/// Matrix file format (little-endian): magic "SSVM", UInt32 element type (0 float32,
/// 1 uint64), UInt64 rows, UInt64 columns, 8 reserved bytes, then the row-major data.
struct BenchIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Flat, HNSW and Hamming index speed on synthetic or exported matrices (see bench/compare-index.sh).")

    @Option(help: "Float32 database matrix (.ssvm).") var vectors: String?
    @Option(help: "Float32 query matrix (.ssvm).") var queries: String?
    @Option(help: "UInt64 database codes (.ssvm).") var codes: String?
    @Option(help: "UInt64 query codes (.ssvm).") var codeQueries: String?
    @Option(help: "Use only the first N database vectors for flat search (0: all).") var flatCount = 0
    @Option(help: "Flat storages to time (float32, float16, int8); repeat for several.") var storage: [String] = [
        "float32"
    ]
    @Option(help: "Vectors in the HNSW graph (first N of the database; 0 skips HNSW).") var hnswCount = 100_000
    @Option(help: "HNSW links per node.") var m = 16
    @Option(help: "HNSW beam width while building.") var efConstruction = 200
    @Option(name: .customLong("ef"), help: "HNSW efSearch values; repeat for several.") var efValues: [Int] = [
        16, 32, 64, 128, 256
    ]
    @Option(help: "HNSW queries timed per efSearch value.") var hnswQueries = 1_000
    @Option(help: "Results per query (flat and Hamming).") var k = 20
    @Option(help: "Queries in a batch.") var batch = 64
    @Option(help: "Single queries timed (mean reported).") var singleQueries = 20
    @Option(help: "Timed repetitions of each batch (best reported).") var repeats = 3
    @Option(help: "Multi-index hashing substrings (0: automatic).") var mihSubstrings = 0
    @Option(help: "Write each flat/binary index to this folder and search the memory-mapped file.") var viaFile: String?
    @Option(
        help:
            "Reuse the HNSW graph in this file when it holds the same N, M and efConstruction (else build and write it); the build row is then left out."
    )
    var hnswCache: String?
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Codable {
        let test: String
        let ms: Double
        let qps: Double?
        let recall: Double?
    }

    struct Output: Codable {
        let engine: String
        let threads: Int
        let flat_count: Int
        let dimensions: Int
        let hnsw_count: Int
        let codes: Int
        let bits: Int
        let results: [Row]
    }

    func run() throws {
        try runReportingErrors {
            var rows: [Row] = []
            var flatN = 0, dims = 0, codeCount = 0, bits = 0
            if let vectors, let queries {
                let queryMatrix = try MatrixFile.readFloats(queries)
                dims = queryMatrix.columns
                (flatN, rows) = try benchFlatAndHNSW(vectorsPath: vectors, queries: queryMatrix)
            }
            if let codes, let codeQueries {
                let result = try benchHamming(codesPath: codes, queriesPath: codeQueries)
                codeCount = result.count
                bits = result.bits
                rows += result.rows
            }
            let output = Output(
                engine: "satseek", threads: ProcessInfo.processInfo.activeProcessorCount,
                flat_count: flatN, dimensions: dims, hnsw_count: hnswCount, codes: codeCount, bits: bits,
                results: rows)
            if json { return try printJSON(output) }
            print(
                "satseek bench index: \(output.threads) threads, flat \(flatN)×\(dims), HNSW N=\(hnswCount), codes \(codeCount)×\(bits) bits"
            )
            for row in rows {
                var line = "  " + row.test.padded(40) + String(format: "%10.3f ms", row.ms)
                if let qps = row.qps { line += String(format: "  %10.1f q/s", qps) }
                if let recall = row.recall { line += String(format: "  recall@10 %.4f", recall) }
                print(line)
            }
        }
    }

    /// Seconds taken by `body`.
    func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Best of `repeats` runs, in seconds.
    func best(_ body: () -> Void) -> Double {
        (0..<max(1, repeats)).map { _ in time(body) }.min()!
    }

    func benchFlatAndHNSW(vectorsPath: String, queries: MatrixFile.Floats) throws -> (Int, [Row]) {
        var rows: [Row] = []
        let dims = queries.columns
        let limit = flatCount > 0 ? flatCount : nil
        var database = try MatrixFile.readFloats(vectorsPath, maxRows: limit)
        guard database.columns == dims else {
            throw ValidationError("queries have \(dims) columns, vectors \(database.columns)")
        }
        let n = database.rows
        let batchQueries = Array(queries.values.prefix(min(batch, queries.rows) * dims))
        let batchCount = batchQueries.count / dims
        let singles = min(singleQueries, queries.rows)
        // HNSW subset (copied before the database array moves into the flat index).
        let graphN = min(hnswCount, n)
        let graphVectors = graphN > 0 ? Array(database.values.prefix(graphN * dims)) : []

        // float32 last: it takes over the database array instead of copying it.
        let order = storage.filter { $0 != "float32" } + storage.filter { $0 == "float32" }
        for name in order {
            guard let kind = VectorStorage(rawValue: name) else { throw ValidationError("unknown storage \(name)") }
            printError("flat \(name): building \(n)×\(dims)…")
            var index = FlatIndex(dimensions: dims, metric: .innerProduct, storage: kind)
            let ids = (0..<n).map(Int64.init)
            if kind == .float32 {
                let values = database.values
                database.values = []  // hand the only copy to the index
                index.add(ids: ids, vectors: values)
            } else {
                index.add(ids: ids, vectors: database.values)
            }
            if let folder = viaFile {
                let path = folder + "/bench-flat-\(name).ssidx"
                let seconds = time { try? index.write(to: path, modelID: "bench") }
                index = try FlatIndex.open(path, verifyChecksum: true)
                printError("  wrote and mapped \(path) in \(String(format: "%.1f", seconds)) s")
            }
            _ = index.search(Array(queries.values.prefix(dims)), k: k)  // warm-up
            let single =
                time {
                    for q in 0..<singles {
                        _ = index.search(Array(queries.values[(q * dims)..<((q + 1) * dims)]), k: k)
                    }
                } / Double(max(1, singles))
            rows.append(Row(test: "flat-\(name) single k=\(k)", ms: single * 1000, qps: 1 / single, recall: nil))
            let batched = best { _ = index.search(batch: batchQueries, k: k) }
            rows.append(
                Row(
                    test: "flat-\(name) batch\(batchCount) k=\(k)", ms: batched * 1000,
                    qps: Double(batchCount) / batched, recall: nil))
        }
        database.values = []

        guard graphN > 0 else { return (n, rows) }
        let hnswQueryCount = min(hnswQueries, queries.rows)
        let hnswQueryValues = Array(queries.values.prefix(hnswQueryCount * dims))
        let exact = FlatIndex(
            dimensions: dims, metric: .innerProduct, ids: (0..<graphN).map(Int64.init), vectors: graphVectors)
        let truth = exact.search(batch: hnswQueryValues, k: 10)
        printError("hnsw: building N=\(graphN) M=\(m) efConstruction=\(efConstruction)…")
        let parameters = HNSWIndex.Parameters(M: m, efConstruction: efConstruction, efSearch: 64)
        var graph = HNSWIndex(dimensions: dims, metric: .innerProduct, parameters: parameters)
        if let cache = hnswCache, let cached = try? HNSWIndex.open(cache),
            cached.count == graphN, cached.dimensions == dims, cached.parameters.M == m,
            cached.parameters.efConstruction == efConstruction
        {
            printError("hnsw: reusing \(cache)")
            graph = cached
        } else {
            let build = time { graph.add(ids: (0..<graphN).map(Int64.init), vectors: graphVectors) }
            rows.append(Row(test: "hnsw build N=\(graphN)", ms: build * 1000, qps: Double(graphN) / build, recall: nil))
            if let cache = hnswCache { try graph.write(to: cache, modelID: "bench") }
        }
        for ef in efValues {
            var results: [[SearchHit]] = []
            let seconds = best { results = graph.search(batch: hnswQueryValues, k: 10, efSearch: ef) }
            let recall =
                zip(results, truth).map { found, want in
                    Double(Set(found.map(\.id)).intersection(want.map(\.id)).count) / Double(max(1, want.count))
                }.reduce(0, +) / Double(max(1, truth.count))
            rows.append(
                Row(
                    test: "hnsw ef=\(ef) k=10", ms: seconds * 1000 / Double(hnswQueryCount),
                    qps: Double(hnswQueryCount) / seconds, recall: recall))
        }
        return (n, rows)
    }

    func benchHamming(codesPath: String, queriesPath: String) throws -> (count: Int, bits: Int, rows: [Row]) {
        let database = try MatrixFile.readCodes(codesPath)
        let queryCodes = try MatrixFile.readCodes(queriesPath)
        let words = database.columns
        guard queryCodes.columns == words else {
            throw ValidationError("code queries have \(queryCodes.columns) words, codes \(words)")
        }
        let bits = words * 64
        var index = BinaryIndex(bits: bits, ids: (0..<database.rows).map(Int64.init), codes: database.values)
        if let folder = viaFile {
            let path = folder + "/bench-codes.ssidx"
            try index.write(to: path, modelID: "bench")
            index = try BinaryIndex.open(path)
        }
        var rows: [Row] = []
        let singles = min(max(singleQueries, 1), queryCodes.rows)
        let query = { (q: Int) in Array(queryCodes.values[(q * words)..<((q + 1) * words)]) }
        let batchCodes = Array(queryCodes.values.prefix(min(batch, queryCodes.rows) * words))
        let batchCount = batchCodes.count / words
        _ = index.search(query(0), k: k)
        let single = time { for q in 0..<singles { _ = index.search(query(q), k: k) } } / Double(singles)
        rows.append(Row(test: "hamming exhaustive single k=\(k)", ms: single * 1000, qps: 1 / single, recall: nil))
        let batched = best { _ = index.search(batch: batchCodes, k: k) }
        rows.append(
            Row(
                test: "hamming exhaustive batch\(batchCount) k=\(k)", ms: batched * 1000,
                qps: Double(batchCount) / batched, recall: nil))
        let build = time { index.buildMultiIndex(substrings: mihSubstrings > 0 ? mihSubstrings : nil) }
        rows.append(
            Row(
                test: "hamming mih build m=\(index.multiIndex?.substringCount ?? 0)", ms: build * 1000, qps: nil,
                recall: nil))
        var agree = true
        let mihSingle =
            time {
                for q in 0..<singles { _ = index.searchMultiIndex(query(q), k: k) }
            } / Double(singles)
        for q in 0..<min(singles, 5) where index.searchMultiIndex(query(q), k: k) != index.search(query(q), k: k) {
            agree = false
        }
        rows.append(
            Row(test: "hamming mih single k=\(k)", ms: mihSingle * 1000, qps: 1 / mihSingle, recall: agree ? 1 : 0))
        let mihBatch = best { _ = index.searchMultiIndex(batch: batchCodes, k: k) }
        rows.append(
            Row(
                test: "hamming mih batch\(batchCount) k=\(k)", ms: mihBatch * 1000,
                qps: Double(batchCount) / mihBatch, recall: nil))
        return (database.rows, bits, rows)
    }
}

/// Reader for the bench matrix format (see ``BenchIndexCommand``).
enum MatrixFile {
    struct Floats { var rows: Int; var columns: Int; var values: [Float] }
    struct Codes { var rows: Int; var columns: Int; var values: [UInt64] }

    static func header(_ handle: FileHandle, path: String, type: UInt32) throws -> (rows: Int, columns: Int) {
        let data = try handle.read(upToCount: 32) ?? Data()
        guard data.count == 32, data.prefix(4) == Data("SSVM".utf8) else {
            throw ValidationError("\(path): not a bench matrix file (magic SSVM)")
        }
        let fields = data.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            )
        }
        guard fields.0 == type else { throw ValidationError("\(path): element type \(fields.0), expected \(type)") }
        return (Int(fields.1), Int(fields.2))
    }

    /// Reads straight into the array's storage (no intermediate copy).
    static func readInto<T>(_ handle: FileHandle, count: Int, path: String) throws -> [T] {
        var values = [T](unsafeUninitializedCapacity: count) { buffer, initialised in
            initialised = count
        }
        let fd = handle.fileDescriptor
        let total = count * MemoryLayout<T>.stride
        var done = 0
        try values.withUnsafeMutableBytes { raw in
            while done < total {
                let n = read(fd, raw.baseAddress! + done, min(total - done, 1 << 30))
                guard n > 0 else { throw ValidationError("\(path): truncated matrix data") }
                done += n
            }
        }
        return values
    }

    static func readFloats(_ path: String, maxRows: Int? = nil) throws -> Floats {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let (rows, columns) = try header(handle, path: path, type: 0)
        let keep = min(rows, maxRows ?? rows)
        return Floats(rows: keep, columns: columns, values: try readInto(handle, count: keep * columns, path: path))
    }

    static func readCodes(_ path: String) throws -> Codes {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let (rows, columns) = try header(handle, path: path, type: 1)
        return Codes(rows: rows, columns: columns, values: try readInto(handle, count: rows * columns, path: path))
    }
}
