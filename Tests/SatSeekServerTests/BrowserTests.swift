import Foundation
import Testing
import SatSeekCatalog

/// Drives the UI in headless Chromium: the page loads, performs an image query (an indexed chip's image is
/// fetched and uploaded through the same code path as a dropped file), and result tiles and map footprints
/// appear. Writes a screenshot to `.build/test-artifacts/ui-image-query.png`.
@Suite struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: weightsInstalled)) func imageQueryShowsResultTilesAndFootprints() async throws {
        guard let chromium = Self.chromium else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_BROWSER"] != nil {
                Issue.record("chromium is not installed; run scripts/install-system-deps.sh")
            } else {
                print(
                    "SKIPPED browser test: chromium is not installed (Debian package `chromium`) and SATSEEK_REQUIRE_BROWSER is unset"
                )
            }
            return
        }
        let f = try await ServerFixture.shared()
        let id = try f.naipChipIDs()[5]
        // ?image=<same-origin URL>: the page fetches it as a Blob and POSTs it to /api/search/image.
        let query = "/api/items/\(id)/image?size=224".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let url = f.base + "/?k=8&image=" + query
        let profile = try temporaryFolder("chromium")
        defer { try? FileManager.default.removeItem(at: profile) }
        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--window-size=1400,900", "--virtual-time-budget=20000"
        ]

        let dump = try await runProcess(chromium, common + ["--dump-dom", url], timeout: 180)
        let dom = dump.output
        #expect(dom.contains("data-state=\"done\""), "the query did not finish: \(dom.suffix(1500))")
        let tiles = dom.components(separatedBy: "class=\"tile result-tile\"").count - 1
        #expect(tiles == 8, "result tiles in the grid")
        let footprints = dom.components(separatedBy: "result-footprint").count - 1
        #expect(footprints >= 1, "result footprints on the map")
        #expect(dom.contains("results for"), "status line")
        #expect(dom.contains("scene-tiles") && dom.contains("/api/tiles/"), "scene tiles on the map")
        #expect(dom.contains("leaflet-tile-loaded"), "scene tiles loaded")

        let artifacts = repositoryRoot.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shot = artifacts.appendingPathComponent("ui-image-query.png")
        try? FileManager.default.removeItem(at: shot)
        let capture = try await runProcess(chromium, common + ["--screenshot=\(shot.path)", url], timeout: 180)
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(shot.path) missing or empty: \(capture.output.suffix(800))")
    }
}

/// The relevance-feedback loop in the browser, by clicks: an item query, 👍/👎 on result cards over two
/// Refine rounds, "Find all in this map view", and the GeoJSON download — checked as GeoJSON (and by GDAL's
/// ogrinfo) with every polygon inside the NAIP scene's bounds. Screenshot: `.build/test-artifacts/ui-feedback.png`.
@Suite struct FeedbackBrowserTests {
    @Test(.enabled(if: weightsInstalled)) func markRefineFindAllAndExport() async throws {
        guard let chromium = BrowserTests.chromium else {
            if ProcessInfo.processInfo.environment["SATSEEK_REQUIRE_BROWSER"] != nil {
                Issue.record("chromium is not installed; run scripts/install-system-deps.sh")
            }
            return
        }
        let f = try await ServerFixture.shared()
        let naip = try f.naipChipIDs()
        let chips = try f.session.catalog.chips(ids: naip)
        let sceneBox = try #require(
            chips.values.compactMap { c in
                c.minLon.map { GeoBox(minLon: $0, minLat: c.minLat!, maxLon: c.maxLon!, maxLat: c.maxLat!) }
            }.reduce(nil as GeoBox?) { $0?.union($1) ?? $1 })
        let downloads = try temporaryFolder("downloads")
        defer { try? FileManager.default.removeItem(at: downloads) }
        let browser = try await HeadlessChromium.start(
            executable: chromium, url: f.base + "/?k=10&item=\(naip[3])", downloads: downloads)
        defer { browser.stop() }
        let shot = repositoryRoot.appendingPathComponent(".build/test-artifacts/ui-feedback.png")
        try await browser.withPage { page in
            try await page.call("Page.enable")
            try await page.browserCall(
                "Browser.setDownloadBehavior", ["behavior": "allow", "downloadPath": downloads.path])
            #expect(try await page.waitUntil("document.body.dataset.state === 'done'"), "the item query did not finish")
            // Two rounds: mark the unlabelled cards of the first six (NAIP chips 👍, the rest 👎), then Refine.
            let markSix = """
                (() => { let n = 0;
                  for (const t of document.querySelectorAll('.result-tile')) {
                    if (n === 6) break;
                    if (t.classList.contains('pos') || t.classList.contains('neg')) continue;
                    t.querySelector(t.dataset.className.startsWith('naip_') ? '.up' : '.down').click(); n++;
                  }
                  return n; })()
                """
            for round in 1...2 {
                #expect(try await page.evaluate(markSix) as? Int == 6, "round \(round): six cards to mark")
                _ = try await page.evaluate("document.querySelector('#refine').click()")
                #expect(
                    try await page.waitUntil("document.body.dataset.state === 'done'"), "round \(round) did not finish")
                let status = try await page.evaluate("document.querySelector('#status').textContent") as? String ?? ""
                #expect(status.contains("👍") && status.contains("👎"), "round \(round) status: \(status)")
            }
            let counts = try await page.evaluate("document.querySelector('#fb-counts').textContent") as? String ?? ""
            let thumbnails =
                try await page.evaluate("document.querySelectorAll('#fb-pos img, #fb-neg img').length") as? Int
            #expect(thumbnails == 13, "query item + 12 marks in the examples panel: \(counts)")
            // Find all in the map view, then download the GeoJSON.
            _ = try await page.evaluate(
                """
                (() => { state.map.fitBounds([[\(sceneBox.minLat), \(sceneBox.minLon)], [\(sceneBox.maxLat), \(sceneBox.maxLon)]]);
                  document.querySelector('#threshold').value = '0.5'; document.querySelector('#find-all').click(); })()
                """)
            #expect(try await page.waitUntil("document.body.dataset.state === 'done'"), "find all did not finish")
            let found = try await page.evaluate("state.last.results.length") as? Int ?? -1
            let drawn =
                try await page.evaluate("document.querySelectorAll('path.result-footprint').length") as? Int ?? -2
            #expect(found > 0 && drawn == found, "find all: \(found) results, \(drawn) footprints drawn")
            _ = try await page.evaluate("document.querySelector('#export').click()")
            #expect(try await page.waitUntil("document.body.dataset.exported === 'yes'"), "export did not finish")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            let png = try await page.call("Page.captureScreenshot", ["format": "png"])
            try FileManager.default.createDirectory(
                at: shot.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(base64Encoded: png["data"] as? String ?? "")?.write(to: shot)
            let exported = downloads.appendingPathComponent("satseek-results.geojson")
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: exported.path), Date() < deadline {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            let data = try Data(contentsOf: exported)
            let geojson = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(geojson["type"] as? String == "FeatureCollection")
            let features = geojson["features"] as? [[String: Any]] ?? []
            #expect(features.count == found, "every found item exported")
            for feature in features {
                let geometry = try #require(feature["geometry"] as? [String: Any])
                #expect(geometry["type"] as? String == "Polygon")
                let ring = (geometry["coordinates"] as? [[[Double]]])?.first ?? []
                let box = try #require(GeoBox(points: ring))
                #expect(sceneBox.contains(box, tolerance: 1e-9), "\(box) outside the scene \(sceneBox)")
                #expect((feature["properties"] as? [String: Any])?["score"] is Double)
            }
            let ogr = try await runProcess("/usr/bin/ogrinfo", ["-ro", "-al", "-so", exported.path])
            #expect(ogr.status == 0 && ogr.output.contains("Feature Count: \(found)"), "ogrinfo: \(ogr.output)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(shot.path)")
    }
}
