import Foundation
import Testing
import SatSeekTensor

@Suite("OpenBLAS threading")
struct BLASThreadsTests {
    @Test("OpenBLAS runs single-threaded from the moment the program is loaded")
    func singleThreadedAtLoad() {
        #expect(blasThreads == 1)
    }

    @Test("OpenBLAS runs its Haswell kernels, not the AVX-512 ones of its 0.3.21 Intel targets")
    func noAVX512Kernels() throws {
        let core = blasCore
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil || core.replaced {
            #expect(!["SkylakeX", "Cooperlake", "SapphireRapids"].contains(core.name), "\(core)")
        }
        #expect(!core.replaced || core.name == "Haswell", "\(core)")
    }
}
