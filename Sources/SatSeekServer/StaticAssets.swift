import Foundation

/// The files the browser UI needs: the app's own HTML/JS/CSS (compiled into the binary) and Leaflet, read
/// once at start-up from Debian's `libjs-leaflet` folder. Only names in this fixed table are served, so a
/// request path can never reach any other file (`../` included).
struct StaticAssets: Sendable {
    struct Asset: Sendable {
        let data: Data
        let type: String
    }

    private let files: [String: Asset]

    /// Loads Leaflet's `leaflet.js`, `leaflet.css` and `images/*.png` from `leafletDirectory` (missing files are
    /// left out; the UI then shows a notice instead of the map).
    init(leafletDirectory: String) {
        var files: [String: Asset] = [
            "index.html": Asset(data: Data(WebUI.indexHTML.utf8), type: "text/html; charset=utf-8"),
            "app.js": Asset(data: Data(WebUI.appJS.utf8), type: "text/javascript; charset=utf-8"),
            "app.css": Asset(data: Data(WebUI.appCSS.utf8), type: "text/css; charset=utf-8")
        ]
        let base = URL(fileURLWithPath: leafletDirectory)
        var names = ["leaflet.js", "leaflet.css"]
        let images =
            (try? FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent("images").path)) ?? []
        names += images.filter { $0.hasSuffix(".png") }.map { "images/" + $0 }
        for name in names {
            guard let data = FileManager.default.contents(atPath: base.appendingPathComponent(name).path) else {
                continue
            }
            let type =
                name.hasSuffix(".js")
                ? "text/javascript; charset=utf-8"
                : name.hasSuffix(".css") ? "text/css; charset=utf-8" : "image/png"
            files["leaflet/" + name] = Asset(data: data, type: type)
        }
        self.files = files
    }

    /// The asset named `name` (`index.html`, `leaflet/images/marker-icon.png`, …), or `nil`.
    func file(_ name: String) -> Asset? { files[name] }

    /// Whether Leaflet was found.
    var hasLeaflet: Bool { files["leaflet/leaflet.js"] != nil }
}
