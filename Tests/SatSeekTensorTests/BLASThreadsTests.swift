import Testing
import SatSeekTensor

@Suite("OpenBLAS threading")
struct BLASThreadsTests {
    @Test("OpenBLAS runs single-threaded from the moment the program is loaded")
    func singleThreadedAtLoad() {
        #expect(blasThreads == 1)
    }
}
