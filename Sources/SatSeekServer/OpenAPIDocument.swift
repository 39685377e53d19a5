import Foundation

/// The OpenAPI 3.0 description of ``SatSeekServer``'s routes, served at `/openapi.json`.
enum OpenAPIDocument {
    /// Paths documented here; the server registers exactly these API routes (checked by the tests).
    static let paths = [
        "/api/info", "/api/scenes", "/api/scenes/{index}/image", "/api/items/{id}", "/api/items/{id}/image",
        "/api/search", "/api/search/text", "/api/search/image", "/api/search/sketch",
    ]

    /// The document as JSON text.
    static func json(maxUploadBytes: Int) -> String {
        let k: [String: Any] = ["name": "k", "in": "query", "required": false,
                                "description": "number of results (1…500, default 24)",
                                "schema": ["type": "integer", "minimum": 1, "maximum": 500]]
        let bbox: [String: Any] = ["name": "bbox", "in": "query", "required": false,
                                   "description": "only chips whose footprint intersects minLon,minLat,maxLon,maxLat (EPSG:4326)",
                                   "schema": ["type": "string", "example": "-99.5,47.1,-99.4,47.2"]]
        let size: [String: Any] = ["name": "size", "in": "query", "required": false,
                                   "description": "longer side in pixels (16…2048)", "schema": ["type": "integer"]]
        func idParam(_ name: String) -> [String: Any] {
            ["name": name, "in": "path", "required": true, "schema": ["type": "integer", "minimum": 0]]
        }
        let errors: [String: Any] = [
            "400": ["description": "malformed parameter", "content": json(ref: "Error")],
            "404": ["description": "unknown id", "content": json(ref: "Error")],
        ]
        func ok(_ description: String, _ content: [String: Any]) -> [String: Any] {
            ["200": ["description": description, "content": content]].merging(errors) { a, _ in a }
        }
        let image: [String: Any] = ["image/jpeg": ["schema": ["type": "string", "format": "binary"]],
                                    "image/png": ["schema": ["type": "string", "format": "binary"]]]
        let upload: [String: Any] = [
            "required": true,
            "description": "raw image bytes (JPEG, PNG, TIFF/GeoTIFF, WebP, …), at most \(maxUploadBytes) bytes",
            "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                        "image/*": ["schema": ["type": "string", "format": "binary"]]],
        ]
        var uploadErrors = ok("ranked results", json(ref: "SearchResponse"))
        uploadErrors["413"] = ["description": "upload too large", "content": json(ref: "Error")]
        uploadErrors["415"] = ["description": "not a readable image", "content": json(ref: "Error")]
        let paths: [String: Any] = [
            "/api/info": ["get": ["summary": "index size, model and the query modes it supports",
                                  "responses": ok("info", json(ref: "Info"))]],
            "/api/scenes": ["get": ["summary": "source scenes with their bounding boxes",
                                    "responses": ok("scenes", ["application/json": ["schema": ["type": "array", "items": ["$ref": "#/components/schemas/Scene"]]]])]],
            "/api/scenes/{index}/image": ["get": ["summary": "a scene rendered as RGBA PNG (nodata transparent), for map overlays",
                                                  "parameters": [idParam("index"), size], "responses": ok("PNG", image)]],
            "/api/items/{id}": ["get": ["summary": "metadata of an indexed item, with its footprint",
                                        "parameters": [idParam("id")], "responses": ok("item", json(ref: "Item"))]],
            "/api/items/{id}/image": ["get": ["summary": "the item rendered from its source with GDAL (cached)",
                                              "parameters": [idParam("id"), size], "responses": ok("JPEG", image)]],
            "/api/search": ["get": ["summary": "items most similar to an indexed item, optionally inside a bbox",
                                    "parameters": [["name": "item", "in": "query", "required": true,
                                                    "schema": ["type": "integer"]], k, bbox],
                                    "responses": ok("ranked results", json(ref: "SearchResponse"))]],
            "/api/search/text": ["get": ["summary": "items matching a sentence (404 when the index has no text side)",
                                         "parameters": [["name": "q", "in": "query", "required": true,
                                                         "description": "the sentence, e.g. harbor with many boats",
                                                         "schema": ["type": "string"]] as [String: Any], k, bbox],
                                         "responses": ok("ranked results", json(ref: "SearchResponse"))]],
            "/api/search/image": ["post": ["summary": "items most similar to an uploaded image",
                                           "parameters": [k, bbox], "requestBody": upload, "responses": uploadErrors]],
            "/api/search/sketch": ["post": ["summary": "items matching a drawn sketch (404 when the index has no sketch embeddings)",
                                            "parameters": [k], "requestBody": upload, "responses": uploadErrors]],
        ]
        let item: [String: Any] = ["type": "object", "properties": [
            "id": ["type": "integer"], "name": ["type": "string"], "className": ["type": "string"],
            "width": ["type": "integer"], "height": ["type": "integer"], "scene": ["type": "string", "nullable": true],
            "window": ["type": "array", "items": ["type": "integer"], "nullable": true],
            "footprint": ["type": "array", "nullable": true, "items": ["type": "array", "items": ["type": "number"]]],
            "bbox": ["type": "array", "items": ["type": "number"], "nullable": true], "image": ["type": "string"],
        ]]
        let schemas: [String: Any] = [
            "Item": item,
            "Scene": ["type": "object", "properties": [
                "index": ["type": "integer"], "name": ["type": "string"], "chips": ["type": "integer"],
                "bbox": ["type": "array", "items": ["type": "number"], "nullable": true], "image": ["type": "string"]]],
            "SearchResponse": ["type": "object", "properties": [
                "mode": ["type": "string"], "k": ["type": "integer"], "tookMs": ["type": "number"],
                "bbox": ["type": "array", "items": ["type": "number"], "nullable": true],
                "query": ["$ref": "#/components/schemas/Item"],
                "results": ["type": "array", "items": ["type": "object", "properties": [
                    "rank": ["type": "integer"], "score": ["type": "number"],
                    "item": ["$ref": "#/components/schemas/Item"]]]]]],
            "Info": ["type": "object", "properties": [
                "items": ["type": "integer"], "model": ["type": "string"], "dimensions": ["type": "integer"],
                "maxUploadBytes": ["type": "integer"],
                "modes": ["type": "object", "properties": ["image": ["type": "boolean"], "item": ["type": "boolean"],
                                                           "sketch": ["type": "boolean"], "text": ["type": "boolean"]]],
                "scenes": ["type": "array", "items": ["$ref": "#/components/schemas/Scene"]]]],
            "Error": ["type": "object", "properties": ["error": ["type": "object", "properties": [
                "status": ["type": "integer"], "message": ["type": "string"]]]]],
        ]
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "SatSeek", "version": "1.0",
                     "description": "Content-based search over a SatSeek index of satellite image chips"],
            "paths": paths,
            "components": ["schemas": schemas],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func json(ref: String) -> [String: Any] {
        ["application/json": ["schema": ["$ref": "#/components/schemas/\(ref)"]]]
    }
}
