import Foundation

/// The OpenAPI 3.0 description of ``SatSeekServer``'s routes, served at `/openapi.json`.
enum OpenAPIDocument {
    /// Paths documented here; the server registers exactly these API routes (checked by the tests).
    static let paths = [
        "/api/info", "/api/scenes", "/api/scenes/{index}/image", "/api/items/{id}", "/api/items/{id}/image",
        "/api/tiles/{z}/{x}/{y}", "/api/search", "/api/search/text", "/api/search/image", "/api/search/sketch",
        "/api/feedback", "/api/export", "/api/collections", "/api/collections/{name}"
    ]

    /// The document as JSON text.
    static func json(maxUploadBytes: Int) -> String {
        let k: [String: Any] = [
            "name": "k", "in": "query", "required": false,
            "description": "number of results (1…500, default 24)",
            "schema": ["type": "integer", "minimum": 1, "maximum": 500]
        ]
        let bbox: [String: Any] = [
            "name": "bbox", "in": "query", "required": false,
            "description": "only chips whose footprint intersects minLon,minLat,maxLon,maxLat (EPSG:4326)",
            "schema": ["type": "string", "example": "-99.5,47.1,-99.4,47.2"]
        ]
        let near: [String: Any] = [
            "name": "near", "in": "query", "required": false,
            "description": "only chips within radius_km of this place (offline GeoNames gazetteer; "
                + "422 with candidates when the name is ambiguous or unknown)",
            "schema": ["type": "string", "example": "Jamestown, North Dakota"]
        ]
        let radius: [String: Any] = [
            "name": "radius_km", "in": "query", "required": false,
            "description": "with near: the radius in km (default 25)", "schema": ["type": "number"]
        ]
        func date(_ name: String, _ text: String) -> [String: Any] {
            [
                "name": name, "in": "query", "required": false, "description": text,
                "schema": ["type": "string", "format": "date"]
            ]
        }
        let filters: [[String: Any]] = [
            bbox, near, radius, date("from", "only chips acquired on or after this date"),
            date("to", "only chips acquired on or before this date (the whole day)")
        ]
        let size: [String: Any] = [
            "name": "size", "in": "query", "required": false,
            "description": "longer side in pixels (16…2048)", "schema": ["type": "integer"]
        ]
        func idParam(_ name: String) -> [String: Any] {
            ["name": name, "in": "path", "required": true, "schema": ["type": "integer", "minimum": 0]]
        }
        let errors: [String: Any] = [
            "400": ["description": "malformed parameter", "content": json(ref: "Error")],
            "404": ["description": "unknown id", "content": json(ref: "Error")]
        ]
        func ok(_ description: String, _ content: [String: Any]) -> [String: Any] {
            ["200": ["description": description, "content": content]].merging(errors) { a, _ in a }
        }
        let image: [String: Any] = [
            "image/jpeg": ["schema": ["type": "string", "format": "binary"]],
            "image/png": ["schema": ["type": "string", "format": "binary"]]
        ]
        let upload: [String: Any] = [
            "required": true,
            "description": "raw image bytes (JPEG, PNG, TIFF/GeoTIFF, WebP, …), at most \(maxUploadBytes) bytes",
            "content": [
                "application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                "image/*": ["schema": ["type": "string", "format": "binary"]]
            ]
        ]
        var uploadErrors = ok("ranked results", json(ref: "SearchResponse"))
        uploadErrors["413"] = ["description": "upload too large", "content": json(ref: "Error")]
        uploadErrors["415"] = ["description": "not a readable image", "content": json(ref: "Error")]
        uploadErrors["408"] = [
            "description": "the upload body did not arrive within the upload timeout",
            "content": json(ref: "Error")
        ]
        uploadErrors["503"] = [
            "description": "every embedding worker and queue slot is taken; retry after the "
                + "seconds in the Retry-After header", "content": json(ref: "Error")
        ]
        let threshold: [String: Any] = [
            "name": "threshold", "in": "query", "required": false,
            "description":
                "find all: every item scoring at least this (the learner's probability for logistic, else the cosine) instead of the top k",
            "schema": ["type": "number"]
        ]
        let offset: [String: Any] = [
            "name": "offset", "in": "query", "required": false,
            "description": "with threshold: results to skip", "schema": ["type": "integer", "minimum": 0]
        ]
        let limit: [String: Any] = [
            "name": "limit", "in": "query", "required": false,
            "description": "with threshold: most results (1…10000, default 1000)",
            "schema": ["type": "integer", "minimum": 1, "maximum": 10000]
        ]
        let format: [String: Any] = [
            "name": "format", "in": "query", "required": false,
            "description": "geojson (default) or csv", "schema": ["type": "string", "enum": ["geojson", "csv"]]
        ]
        let examples: [String: Any] = [
            "required": true, "description": "the examples the analyst marked",
            "content": json(ref: "FeedbackRequest")
        ]
        let name: [String: Any] = ["name": "name", "in": "path", "required": true, "schema": ["type": "string"]]
        let exported: [String: Any] = [
            "application/geo+json": ["schema": ["type": "object"]],
            "text/csv": ["schema": ["type": "string"]]
        ]
        let paths: [String: Any] = [
            "/api/feedback": [
                "post": [
                    "summary":
                        "relevance feedback: rank by a learner trained on marked items; with threshold, find all (paged, with total)",
                    "parameters": [k, threshold, offset, limit] + filters, "requestBody": examples,
                    "responses": ok("ranked results with total and scoring", json(ref: "SearchResponse"))
                ]
            ],
            "/api/export": [
                "post": [
                    "summary":
                        "the same query as /api/feedback, as a GeoJSON FeatureCollection (footprints, EPSG:4326) or CSV download",
                    "parameters": [k, threshold, offset, limit, format] + filters, "requestBody": examples,
                    "responses": ok("file", exported)
                ]
            ],
            "/api/collections": [
                "get": [
                    "summary": "named labelled collections with their counts",
                    "responses": ok(
                        "collections", ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]])
                ]
            ],
            "/api/collections/{name}": [
                "get": [
                    "summary":
                        "a collection's positive and negative item ids; with format, its items as GeoJSON or CSV",
                    "parameters": [name, format], "responses": ok("collection", json(ref: "Collection"))
                ],
                "put": [
                    "summary":
                        "add labels (replacing earlier labels of the same items) or remove them; created when new",
                    "parameters": [name],
                    "requestBody": [
                        "required": true,
                        "content": [
                            "application/json": [
                                "schema": [
                                    "type": "object",
                                    "properties": [
                                        "positives": ["type": "array", "items": ["type": "integer"]],
                                        "negatives": ["type": "array", "items": ["type": "integer"]],
                                        "remove": ["type": "array", "items": ["type": "integer"]]
                                    ]
                                ]
                            ]
                        ]
                    ],
                    "responses": ok("collection", json(ref: "Collection"))
                ],
                "delete": [
                    "summary": "delete a collection (its items stay)", "parameters": [name],
                    "responses": ok(
                        "remaining collections",
                        ["application/json": ["schema": ["type": "array", "items": ["type": "object"]]]])
                ]
            ],
            "/api/info": [
                "get": [
                    "summary": "index size, model and the query modes it supports",
                    "responses": ok("info", json(ref: "Info"))
                ]
            ],
            "/api/scenes": [
                "get": [
                    "summary": "source scenes with their bounding boxes",
                    "responses": ok(
                        "scenes",
                        [
                            "application/json": [
                                "schema": ["type": "array", "items": ["$ref": "#/components/schemas/Scene"]]
                            ]
                        ])
                ]
            ],
            "/api/scenes/{index}/image": [
                "get": [
                    "summary": "a scene rendered as RGBA PNG (nodata transparent), for map overlays",
                    "parameters": [idParam("index"), size], "responses": ok("PNG", image)
                ]
            ],
            "/api/tiles/{z}/{x}/{y}": [
                "get": [
                    "summary": "Web Mercator (XYZ) map tile of the indexed scenes, RGBA PNG 256 × 256 "
                        + "(transparent where no scene is); y may end in .png",
                    "parameters": [idParam("z"), idParam("x"), idParam("y")], "responses": ok("PNG", image)
                ]
            ],
            "/api/items/{id}": [
                "get": [
                    "summary": "metadata of an indexed item: footprint, nearest place, acquisition date, STAC "
                        + "details, and otherDates (the same ground in other dated scenes)",
                    "parameters": [idParam("id")], "responses": ok("item", json(ref: "Item"))
                ]
            ],
            "/api/items/{id}/image": [
                "get": [
                    "summary": "the item rendered from its source with GDAL (cached)",
                    "parameters": [idParam("id"), size], "responses": ok("JPEG", image)
                ]
            ],
            "/api/search": [
                "get": [
                    "summary": "items most similar to an indexed item, optionally inside a bbox",
                    "parameters": [
                        [
                            "name": "item", "in": "query", "required": true,
                            "schema": ["type": "integer"]
                        ], k
                    ] + filters,
                    "responses": ok("ranked results", json(ref: "SearchResponse"))
                ]
            ],
            "/api/search/text": [
                "get": [
                    "summary":
                        "items matching a sentence, or (with item) an item modified by it (404 when the index has no text side)",
                    "parameters": [
                        [
                            "name": "q", "in": "query", "required": true,
                            "description": "the sentence, e.g. harbor with many boats",
                            "schema": ["type": "string"]
                        ] as [String: Any],
                        [
                            "name": "item", "in": "query", "required": false,
                            "description": "a composed query: this item, modified by the sentence",
                            "schema": ["type": "integer"]
                        ],
                        [
                            "name": "text_weight", "in": "query", "required": false,
                            "description": "with item: 0 is the image alone, 1 the sentence alone (default 0.75)",
                            "schema": ["type": "number", "minimum": 0, "maximum": 1]
                        ], k
                    ] + filters,
                    "responses": ok("ranked results", json(ref: "SearchResponse"))
                ]
            ],
            "/api/search/image": [
                "post": [
                    "summary": "items most similar to an uploaded image",
                    "parameters": [k] + filters, "requestBody": upload, "responses": uploadErrors
                ]
            ],
            "/api/search/sketch": [
                "post": [
                    "summary":
                        "items matching a drawn sketch, each with the window that matched when the index has sketch-adapter window codes (404 when the index has no sketch embeddings)",
                    "parameters": [k], "requestBody": upload, "responses": uploadErrors
                ]
            ]
        ]
        let item: [String: Any] = [
            "type": "object",
            "properties": [
                "id": ["type": "integer"], "name": ["type": "string"], "className": ["type": "string"],
                "width": ["type": "integer"], "height": ["type": "integer"],
                "scene": ["type": "string", "nullable": true],
                "centre": ["type": "array", "items": ["type": "number"], "nullable": true],
                "place": ["type": "string", "nullable": true], "region": ["type": "string", "nullable": true],
                "country": ["type": "string", "nullable": true],
                "placeDistanceKm": ["type": "number", "nullable": true],
                "acquired": ["type": "string", "format": "date-time", "nullable": true],
                "acquiredSource": ["type": "string", "nullable": true],
                "stacItem": ["type": "string", "nullable": true],
                "properties": ["type": "object", "additionalProperties": ["type": "string"], "nullable": true],
                "window": ["type": "array", "items": ["type": "integer"], "nullable": true],
                "footprint": [
                    "type": "array", "nullable": true, "items": ["type": "array", "items": ["type": "number"]]
                ],
                "bbox": ["type": "array", "items": ["type": "number"], "nullable": true], "image": ["type": "string"]
            ]
        ]
        let schemas: [String: Any] = [
            "Item": item,
            "Scene": [
                "type": "object",
                "properties": [
                    "index": ["type": "integer"], "name": ["type": "string"], "chips": ["type": "integer"],
                    "bbox": ["type": "array", "items": ["type": "number"], "nullable": true],
                    "image": ["type": "string"]
                ]
            ],
            "SearchResponse": [
                "type": "object",
                "properties": [
                    "mode": ["type": "string"], "k": ["type": "integer"], "tookMs": ["type": "number"],
                    "bbox": ["type": "array", "items": ["type": "number"], "nullable": true],
                    "query": ["$ref": "#/components/schemas/Item"],
                    "total": ["type": "integer", "nullable": true], "scoring": ["type": "string", "nullable": true],
                    "results": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "rank": ["type": "integer"], "score": ["type": "number"],
                                "item": ["$ref": "#/components/schemas/Item"],
                                "region": [
                                    "type": "array", "items": ["type": "number"], "minItems": 4, "maxItems": 4,
                                    "description":
                                        "sketch search with window codes only: the tile window that matched, [x, y, width, height] in fractions of the tile's square model frame"
                                ]
                            ]
                        ]
                    ]
                ]
            ],
            "FeedbackRequest": [
                "type": "object", "description": "at least one positive example (item, image or sentence)",
                "properties": [
                    "positives": [
                        "type": "array", "items": ["type": "integer"], "description": "item ids marked relevant"
                    ],
                    "negatives": [
                        "type": "array", "items": ["type": "integer"], "description": "item ids marked not relevant"
                    ],
                    "positiveImages": [
                        "type": "array", "items": ["type": "string", "format": "byte"],
                        "description": "uploaded images (base64 file bytes) marked relevant, at most 20 in all"
                    ],
                    "negativeImages": ["type": "array", "items": ["type": "string", "format": "byte"]],
                    "positiveTexts": [
                        "type": "array", "items": ["type": "string"], "description": "sentences (CLIP indexes)"
                    ],
                    "negativeTexts": ["type": "array", "items": ["type": "string"]],
                    "learner": ["type": "string", "enum": ["auto", "rocchio", "logistic"]]
                ]
            ],
            "Collection": [
                "type": "object",
                "properties": [
                    "name": ["type": "string"], "positives": ["type": "array", "items": ["type": "integer"]],
                    "negatives": ["type": "array", "items": ["type": "integer"]]
                ]
            ],
            "Info": [
                "type": "object",
                "properties": [
                    "items": ["type": "integer"], "model": ["type": "string"], "dimensions": ["type": "integer"],
                    "maxUploadBytes": ["type": "integer"],
                    "modes": [
                        "type": "object",
                        "properties": [
                            "image": ["type": "boolean"], "item": ["type": "boolean"],
                            "sketch": ["type": "boolean"], "text": ["type": "boolean"]
                        ]
                    ],
                    "scenes": ["type": "array", "items": ["$ref": "#/components/schemas/Scene"]]
                ]
            ],
            "Error": [
                "type": "object",
                "properties": [
                    "error": [
                        "type": "object",
                        "properties": [
                            "status": ["type": "integer"], "message": ["type": "string"]
                        ]
                    ]
                ]
            ]
        ]
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": [
                "title": "SatSeek", "version": "1.0",
                "description": "Content-based search over a SatSeek index of satellite image chips"
            ],
            "paths": paths,
            "components": ["schemas": schemas]
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func json(ref: String) -> [String: Any] {
        ["application/json": ["schema": ["$ref": "#/components/schemas/\(ref)"]]]
    }
}
