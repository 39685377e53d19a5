import Foundation
import Testing
import SatSeekModels

/// Weight-dependent tests are skipped (and shown as skipped) without the pretrained weights; CI, which sets
/// SATSEEK_REQUIRE_MODELS=1 after installing them, must run them all, so there a missing model fails here.
@Suite struct RequiredWeightsTests {
    @Test("the weights the tests need are installed when SATSEEK_REQUIRE_MODELS=1")
    func weightsPresentWhenRequired() {
        guard ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_MODELS"] == "1" else { return }
        for name in ["effnet-lite0", "effnet-lite1", "effnet-lite2"] {
            #expect(modelInstalled(name), "weights for \(name) are not installed; run `satseek models install \(name)`")
        }
        #expect(gazetteerInstalled, "the gazetteer is not installed; run `satseek models install geonames-cities1000`")
        #expect(
            ModelStore().imageNetLabelsFile != nil,
            "the ImageNet class names are not installed; run `satseek models install imagenet-labels`")
    }
}
