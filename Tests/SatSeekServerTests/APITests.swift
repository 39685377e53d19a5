import Foundation
import Testing
import SatSeekCatalog
import SatSeekStore
import SatSeekSearch
@testable import SatSeekServer

/// The JSON API, its routes run in process (needs the model); the pages and assets below go over a real socket
/// on 127.0.0.1, as do the server-limit, browser and command-line tests.
@Suite struct APITests {
    /// The fixture, or `nil` (test skipped) when the model is missing.
    func fixture() async throws -> ServerFixture? {
        guard modelAvailable() else { return nil }
        return try await ServerFixture.shared()
    }

    @Test func infoListsModesAndScenes() async throws {
        guard let f = try await fixture() else { return }
        let info = try await f.call("/api/info").json()
        #expect(info["items"] as? Int == 12 + 3 + 4)
        let modes = try #require(info["modes"] as? [String: Bool])
        #expect(modes["image"] == true && modes["item"] == true && modes["text"] == false && modes["sketch"] == false)
        let scenes = try #require(info["scenes"] as? [[String: Any]])
        #expect(scenes.count == 2)
        #expect(scenes.allSatisfy { ($0["bbox"] as? [Double])?.count == 4 })
        let overlay = try await f.call("/api/scenes/0/image?size=256")
        #expect(overlay.status == 200 && overlay.contentType == "image/png")
    }

    @Test func textSearchWithoutATextSideIsA404ThatSaysWhatToDo() async throws {
        guard let f = try await fixture() else { return }
        let answer = try await f.call("/api/search/text?q=harbor")
        #expect(answer.status == 404)
        #expect(answer.text.contains("train-text"))
    }

    @Test func searchByItemReturnsRankedResultsWithFootprints() async throws {
        guard let f = try await fixture() else { return }
        let id = try f.naipChipIDs()[0]
        let answer = try await f.call("/api/search?item=\(id)&k=5")
        #expect(answer.status == 200)
        let body = try answer.json()
        let results = try #require(body["results"] as? [[String: Any]])
        #expect(results.count == 5)
        let scores = results.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
        let items = results.compactMap { $0["item"] as? [String: Any] }
        #expect(!items.contains { $0["id"] as? Int64 == id })
        let query = try #require(body["query"] as? [String: Any])
        #expect((query["footprint"] as? [[Double]])?.count == 9)
        #expect(items.contains { $0["footprint"] is [[Double]] })
    }

    @Test func searchByItemWithBboxKeepsOnlyIntersectingChips() async throws {
        guard let f = try await fixture() else { return }
        let id = try f.naipChipIDs()[0]
        let box = "-99.19,47.0,-99.16,47.04"
        let body = try await f.call("/api/search?item=\(id)&k=50&bbox=\(box)").json()
        let items = try #require(body["results"] as? [[String: Any]]).compactMap { $0["item"] as? [String: Any] }
        #expect(!items.isEmpty)
        for item in items {
            let b = try #require(item["bbox"] as? [Double])
            #expect(b[0] <= -99.16 && b[2] >= -99.19 && b[1] <= 47.04 && b[3] >= 47.0)
        }
    }

    @Test func searchByUploadedImage() async throws {
        guard let f = try await fixture() else { return }
        let file = sharedData.appendingPathComponent("datasets/aid-mini/Airport").path
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: file).sorted().first)
        let data = try Data(contentsOf: URL(fileURLWithPath: file + "/" + name))
        let answer = try await f.call("/api/search/image?k=3", method: "POST", body: data, contentType: "image/jpeg")
        #expect(answer.status == 200, "\(answer.text)")
        let results = try #require(try answer.json()["results"] as? [[String: Any]])
        // The identical indexed image comes first with cosine ≈ 1.
        #expect((results.first?["score"] as? Double ?? 0) > 0.999)
        // With a bbox only chips are eligible.
        let boxed = try await f.call("/api/search/image?k=3&bbox=-180,-90,180,90", method: "POST", body: data)
        let boxedItems = try #require(try boxed.json()["results"] as? [[String: Any]]).compactMap {
            $0["item"] as? [String: Any]
        }
        #expect(boxedItems.count == 3 && boxedItems.allSatisfy { $0["footprint"] is [[Double]] })
    }

    @Test func itemMetadataAndImage() async throws {
        guard let f = try await fixture() else { return }
        let id = try f.naipChipIDs()[1]
        let item = try await f.call("/api/items/\(id)").json()
        #expect(item["window"] as? [Int] == [224, 0, 224, 224])
        #expect((item["scene"] as? String)?.hasPrefix("naip_") == true)
        let image = try await f.call("/api/items/\(id)/image?size=128")
        #expect(image.status == 200 && image.contentType == "image/jpeg" && image.body.starts(with: [0xFF, 0xD8]))
        let again = try await f.call("/api/items/\(id)/image?size=128")
        #expect(again.body == image.body)
        let plain = try f.session.catalog.allRecords().first { !$0.path.contains("#chip=") }!
        let plainItem = try await f.call("/api/items/\(plain.id!)").json()
        #expect(plainItem["footprint"] == nil || plainItem["footprint"] is NSNull)
        #expect(try await f.call("/api/items/\(plain.id!)/image").status == 200)
    }

    /// Feedback with an uploaded image as the positive example: the upload is embedded like an image query, so
    /// a chip's own rendering finds that chip first; a sentence on a non-CLIP index is refused.
    @Test func feedbackWithUploadedExample() async throws {
        guard let f = try await fixture() else { return }
        let id = try f.naipChipIDs()[2]
        let image = try await f.call("/api/items/\(id)/image?size=224")
        #expect(image.status == 200)
        let body = try JSONSerialization.data(withJSONObject: ["positiveImages": [image.body.base64EncodedString()]])
        let answer = try await f.call("/api/feedback?k=3", method: "POST", body: body, contentType: "application/json")
        #expect(answer.status == 200, "\(answer.text.prefix(300))")
        let results = try answer.json()["results"] as? [[String: Any]] ?? []
        #expect(((results.first?["item"] as? [String: Any])?["id"] as? NSNumber)?.int64Value == id)
        let bad = try JSONSerialization.data(withJSONObject: ["positiveImages": ["not base64!"]])
        #expect(try await f.call("/api/feedback", method: "POST", body: bad).status == 400)
        let text = try JSONSerialization.data(withJSONObject: ["positiveTexts": ["a harbour"]])
        #expect(try await f.call("/api/feedback", method: "POST", body: text).status == 400)
    }

    /// Bad input: 4xx with a JSON message, and the server still answers afterwards.
    @Test func badInputGets4xxAndTheServerKeepsServing() async throws {
        guard let f = try await fixture() else { return }
        let cases: [(String, String, Data?, Int)] = [
            ("POST", "/api/search/image", Data("this is not an image\n".utf8), 415),
            ("POST", "/api/search/image", Data(), 400),
            ("POST", "/api/search/image", Data(repeating: 0x41, count: 200 << 20), 413),
            ("GET", "/api/search?item=999999", nil, 404),
            ("GET", "/api/items/999999", nil, 404),
            ("GET", "/api/items/999999/image", nil, 404),
            ("GET", "/api/items/abc", nil, 400),
            ("GET", "/api/search?item=1&bbox=1,2,3", nil, 400),
            ("GET", "/api/search?item=1&bbox=a,b,c,d", nil, 400),
            ("GET", "/api/search?item=1&bbox=10,0,0,10", nil, 400),
            ("GET", "/api/search?item=1&k=0", nil, 400),
            ("GET", "/api/search", nil, 400),
            ("GET", "/api/search/../../etc/passwd", nil, 404),
            ("GET", "/leaflet/..%2F..%2F..%2Fetc%2Fpasswd", nil, 404),
            ("GET", "/leaflet/../../../../etc/passwd", nil, 404),
            ("GET", "/api/items/..%2F..%2Fetc%2Fpasswd/image", nil, 400),
            ("GET", "/api/scenes/99/image", nil, 404),
            ("POST", "/api/search/sketch", Data("x".utf8), 404),
            // A 100-byte PNG declaring 60 000 × 60 000 px is refused from its header.
            ("POST", "/api/search/image", bombPNG(width: 60_000, height: 60_000), 415),
            ("POST", "/api/feedback", Data("{}".utf8), 400),
            ("POST", "/api/feedback", Data(#"{"positives":[]}"#.utf8), 400),
            ("POST", "/api/feedback", Data(#"{"positives":[999999]}"#.utf8), 404),
            ("POST", "/api/feedback", Data(#"{"positives":[1],"learner":"magic"}"#.utf8), 400),
            ("POST", "/api/feedback?threshold=abc", Data(#"{"positives":[1]}"#.utf8), 400),
            ("POST", "/api/feedback?threshold=0.5&limit=0", Data(#"{"positives":[1]}"#.utf8), 400),
            ("POST", "/api/export?format=xml", Data(#"{"positives":[1]}"#.utf8), 400),
            ("GET", "/api/collections/no-such-collection", nil, 404),
            ("DELETE", "/api/collections/no-such-collection", nil, 404),
            ("PUT", "/api/collections/x", Data(#"{"positives":[999999]}"#.utf8), 404)
        ]
        for (method, path, body, expected) in cases {
            let answer = try await f.call(path, method: method, body: body)
            #expect(answer.status == expected, "\(method) \(path) → \(answer.status) \(answer.text.prefix(200))")
            #expect(!answer.text.contains("root:"), "\(path) leaked a file")
            if expected != 404 || path.hasPrefix("/api/items") {
                #expect(answer.contentType.hasPrefix("application/json"), "\(path): \(answer.contentType)")
            }
        }
        let still = try await f.call("/api/info")
        #expect(still.status == 200)
        let collections = try await f.call("/api/collections")
        #expect(!collections.text.contains("\"x\""), "a refused PUT creates no collection: \(collections.text)")
    }

    /// `/openapi.json` documents exactly the API routes the server answers.
    @Test func openAPIMatchesTheRoutes() async throws {
        guard let f = try await fixture() else { return }
        let document = try await f.call("/openapi.json").json()
        #expect(document["openapi"] as? String == "3.0.3")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        #expect(Set(paths.keys) == Set(OpenAPIDocument.paths))
        let id = try f.naipChipIDs()[0]
        for (path, operations) in paths {
            let concrete = path.replacingOccurrences(of: "{id}", with: "\(id)").replacingOccurrences(
                of: "{index}", with: "0")
            for method in operations.keys {
                let suffix = path == "/api/search" ? "?item=\(id)" : ""
                let body: Data? = method == "post" ? Data("x".utf8) : nil
                let answer = try await f.call(concrete + suffix, method: method.uppercased(), body: body)
                // Every documented route exists: answered by its handler (JSON or an image), never the router's 404.
                #expect(answer.status != 405, "\(method) \(path)")
                #expect(
                    answer.contentType.hasPrefix("application/json") || answer.contentType.hasPrefix("image/"),
                    "\(method) \(path) → \(answer.status) \(answer.contentType)")
            }
        }
    }

    @Test func uiAndLeafletAreServed() async throws {
        guard let f = try await fixture() else { return }
        let page = try await http(f.base + "/")
        #expect(page.status == 200 && page.text.contains("/leaflet/leaflet.js"))
        #expect(try await http(f.base + "/app.js").status == 200)
        #expect(try await http(f.base + "/app.css").status == 200)
        if FileManager.default.fileExists(atPath: "/usr/share/javascript/leaflet/leaflet.js") {
            let leaflet = try await http(f.base + "/leaflet/leaflet.js")
            #expect(leaflet.status == 200 && leaflet.text.contains("Leaflet"))
            #expect(try await http(f.base + "/leaflet/images/marker-icon.png").status == 200)
        }
    }
}

/// The search answer's own JSON writer (cached item JSON) says exactly what `JSONEncoder` says.
@Suite struct SearchResponseJSONTests {
    @Test(
        "written JSON equals JSONEncoder's, with and without a query item, feedback fields and a bbox",
        .enabled(if: weightsInstalled))
    func sameAsJSONEncoder() async throws {
        let f = try await ServerFixture.shared()
        let id = try f.naipChipIDs()[0]
        var responses = [
            try await f.server.searchByItem(id, k: 7, filter: SearchFilter()),
            try await f.server.searchByItem(
                id, k: 3, filter: SearchFilter(boundingBox: GeoBox(minLon: -180, minLat: -90, maxLon: 180, maxLat: 90)))
        ]
        var feedback = await f.server.response(
            mode: "feedback", k: 2, box: nil, query: nil, start: Date(),
            hits: [(id, 0.5), (id + 1, -0.25)], firstRank: 3)
        feedback.total = 17
        feedback.scoring = "logistic \"quoted\""
        responses.append(feedback)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        for response in responses {
            #expect(response.itemJSON != nil)
            let data = try response.jsonData(encoder: encoder)
            let written = try JSONSerialization.jsonObject(with: data) as? NSDictionary
            let reference = try JSONSerialization.jsonObject(with: try encoder.encode(response)) as? NSDictionary
            #expect(written != nil && written == reference, "\(String(decoding: data, as: UTF8.self).prefix(300))")
            // Again: the second answer comes from the cached item JSON (JSONEncoder's key order varies, so compare
            // the parsed values).
            let again = try JSONSerialization.jsonObject(with: try response.jsonData(encoder: encoder)) as? NSDictionary
            #expect(again == reference)
        }
    }
}
