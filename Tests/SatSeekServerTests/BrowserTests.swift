import Foundation
import Testing

/// Drives the UI in headless Chromium: the page loads, performs an image query (an indexed chip's image is
/// fetched and uploaded through the same code path as a dropped file), and result tiles and map footprints
/// appear. Writes a screenshot to `.build/test-artifacts/ui-image-query.png`.
@Suite struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test func imageQueryShowsResultTilesAndFootprints() async throws {
        guard let chromium = Self.chromium else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_BROWSER"] != nil {
                Issue.record("chromium is not installed; run scripts/install-system-deps.sh")
            } else {
                print("SKIPPED browser test: chromium is not installed (Debian package `chromium`) and SATSEEK_REQUIRE_BROWSER is unset")
            }
            return
        }
        guard modelAvailable() else { return }
        let f = try await ServerFixture.shared()
        let id = try f.naipChipIDs()[5]
        // ?image=<same-origin URL>: the page fetches it as a Blob and POSTs it to /api/search/image.
        let query = "/api/items/\(id)/image?size=224".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let url = f.base + "/?k=8&image=" + query
        let profile = try temporaryFolder("chromium")
        defer { try? FileManager.default.removeItem(at: profile) }
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                      "--user-data-dir=\(profile.path)", "--window-size=1400,900", "--virtual-time-budget=20000"]

        let dump = try runProcess(chromium, common + ["--dump-dom", url], timeout: 180)
        let dom = dump.output
        #expect(dom.contains("data-state=\"done\""), "the query did not finish: \(dom.suffix(1500))")
        let tiles = dom.components(separatedBy: "class=\"tile result-tile\"").count - 1
        #expect(tiles == 8, "result tiles in the grid")
        let footprints = dom.components(separatedBy: "result-footprint").count - 1
        #expect(footprints >= 1, "result footprints on the map")
        #expect(dom.contains("results for"), "status line")
        #expect(dom.contains("leaflet-image-layer"), "scene overlays on the map")

        let artifacts = repositoryRoot.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shot = artifacts.appendingPathComponent("ui-image-query.png")
        try? FileManager.default.removeItem(at: shot)
        let capture = try runProcess(chromium, common + ["--screenshot=\(shot.path)", url], timeout: 180)
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(shot.path) missing or empty: \(capture.output.suffix(800))")
    }
}
