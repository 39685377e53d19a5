import Foundation
import Testing
import SatSeekTensor

@Suite("OpenBLAS threading")
struct BLASThreadsTests {
    @Test("OpenBLAS runs single-threaded from the moment the program is loaded")
    func singleThreadedAtLoad() {
        #expect(blasThreads == 1)
    }

    @Test("on an AMD processor OpenBLAS runs its Haswell kernels, not the AVX-512 ones of its Intel targets")
    func noAVX512KernelsOnAMD() throws {
        let cpu = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let amd = cpu.contains("AuthenticAMD")
        let core = blasCore
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil || core.replaced {
            #expect(!amd || !["SkylakeX", "Cooperlake", "SapphireRapids"].contains(core.name), "\(core)")
        }
        #expect(!core.replaced || (amd && core.name == "Haswell"), "\(core)")
    }
}
