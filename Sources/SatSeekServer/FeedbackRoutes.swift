import Foundation
import SatSeekModels
import Hummingbird
import SatSeekCatalog
import SatSeekLearning
import SatSeekSearch
import SatSeekStore

/// The body of `POST /api/feedback` and `POST /api/export`: the examples the analyst marked.
struct FeedbackRequest: Codable, Sendable {
    /// Item ids marked relevant / not relevant.
    var positives: [Int64]?
    var negatives: [Int64]?
    /// Uploaded images (base64 of the file bytes, any format GDAL reads) marked relevant / not relevant.
    var positiveImages: [String]?
    var negativeImages: [String]?
    /// Sentences (CLIP indexes only: the text tower embeds into the image space).
    var positiveTexts: [String]?
    var negativeTexts: [String]?
    /// `auto` (default), `rocchio` or `logistic`.
    var learner: String?
}

/// The body of `PUT /api/collections/{name}`: labels to add (replacing earlier labels of the same items).
struct CollectionLabelsRequest: Codable, Sendable {
    var positives: [Int64]?
    var negatives: [Int64]?
    /// Labels to remove.
    var remove: [Int64]?
}

/// A collection and its labels (`GET /api/collections/{name}`).
struct CollectionResponse: Codable, Sendable {
    let name: String
    let positives: [Int64]
    let negatives: [Int64]
}

extension SatSeekServer {
    /// Relevance feedback, find all, export and collections.
    func addFeedbackRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/feedback") { request, _ in
            var upload = request
            let body = await self.collect(&upload)
            return await self.answer {
                let (query, k, filter) = try await self.feedbackQuery(body, request)
                let start = Date()
                let answer = try await self.feedbackAnswer(query, k: k, filter: filter, request: request)
                var response = await self.response(
                    mode: "feedback", k: k, box: filter.boundingBox, query: nil, start: start,
                    hits: answer.results.map { ($0.id, $0.score) }, firstRank: answer.results.first?.rank ?? 1)
                response.total = answer.total
                response.scoring = answer.scoring
                return response
            }
        }
        router.post("/api/export") { request, _ in
            var upload = request
            let body = await self.collect(&upload)
            do {
                let (query, k, filter) = try await self.feedbackQuery(body, request)
                let format = try Self.exportFormat(request)
                let answer = try await self.feedbackAnswer(query, k: k, filter: filter, request: request)
                let data = try ArchiveExport.render(
                    ArchiveExport.entries(answer.results, labels: query.itemLabels),
                    catalog: self.archive.catalog, format: format, gazetteer: try ModelStore().gazetteer())
                return Self.download(data, format: format, name: "satseek-results")
            } catch {
                return Self.error(for: error)
            }
        }
        router.get("/api/collections") { _, _ in await self.answer { try self.archive.catalog.collections() } }
        router.get("/api/collections/{name}") { request, context in
            let name = context.parameters.get("name") ?? ""
            if request.uri.queryParameters["format"] != nil {
                do {
                    let format = try Self.exportFormat(request)
                    let labels = try self.archive.catalog.labels(inCollection: name)
                    let data = try ArchiveExport.render(
                        ArchiveExport.entries(labels), catalog: self.archive.catalog,
                        format: format, gazetteer: try ModelStore().gazetteer())
                    return Self.download(data, format: format, name: name)
                } catch {
                    return Self.error(for: error)
                }
            }
            return await self.answer { try self.collection(name) }
        }
        router.put("/api/collections/{name}") { request, context in
            var upload = request
            let body = await self.collect(&upload)
            let name = context.parameters.get("name") ?? ""
            return await self.answer {
                let labels = try Self.decode(CollectionLabelsRequest.self, body)
                let catalog = self.archive.catalog
                let set = (labels.positives ?? []).map { ($0, 1) } + (labels.negatives ?? []).map { ($0, -1) }
                // One transaction creates the collection with its labels: a refused id leaves nothing behind.
                if !set.isEmpty {
                    try catalog.setLabels(set, inCollection: name, create: true)
                } else if (try? catalog.collection(named: name)) == nil {
                    try catalog.createCollection(name)
                }
                if let remove = labels.remove, !remove.isEmpty {
                    try catalog.removeLabels(remove, fromCollection: name)
                }
                return try self.collection(name)
            }
        }
        router.delete("/api/collections/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            return await self.answer {
                try self.archive.catalog.deleteCollection(name)
                return try self.archive.catalog.collections()
            }
        }
    }

    func collection(_ name: String) throws -> CollectionResponse {
        let labels = try archive.catalog.labels(inCollection: name)
        return CollectionResponse(
            name: name, positives: labels.filter { $0.label > 0 }.map(\.itemID),
            negatives: labels.filter { $0.label < 0 }.map(\.itemID))
    }

    /// The feedback query of a request body, with k and bbox from the query string.
    func feedbackQuery(
        _ body: Result<Data, APIError>, _ request: Request
    ) async throws -> (FeedbackQuery, Int, SearchFilter) {
        let feedback = try Self.decode(FeedbackRequest.self, body)
        let ids = (feedback.positives ?? []) + (feedback.negatives ?? [])
        let images = (feedback.positiveImages ?? []) + (feedback.negativeImages ?? [])
        let texts = (feedback.positiveTexts ?? []) + (feedback.negativeTexts ?? [])
        guard
            !(feedback.positives ?? []).isEmpty || !(feedback.positiveImages ?? []).isEmpty
                || !(feedback.positiveTexts ?? []).isEmpty
        else {
            throw APIError(
                status: .badRequest,
                message: "give at least one positive example: \"positives\" (item ids), "
                    + "\"positiveImages\" (base64 image files) or \"positiveTexts\"")
        }
        guard ids.count <= 10_000, images.count <= 20, texts.count <= 100 else {
            throw APIError(status: .badRequest, message: "at most 10000 item ids, 20 images and 100 sentences")
        }
        var learner = FeedbackLearner.auto
        if let name = feedback.learner {
            guard let chosen = FeedbackLearner(rawValue: name) else {
                throw APIError(
                    status: .badRequest, message: "learner must be auto, rocchio or logistic (got '\(name.prefix(40))')"
                )
            }
            learner = chosen
        }
        for id in ids where try items.entry(id) == nil {
            throw APIError(status: .notFound, message: "no item with id \(id)")
        }
        func uploaded(_ encoded: [String]?) async throws -> [QueryExample] {
            var examples: [QueryExample] = []
            for (n, text) in (encoded ?? []).enumerated() {
                guard let data = Data(base64Encoded: text), !data.isEmpty else {
                    throw APIError(status: .badRequest, message: "example image \(n + 1) is not base64 image data")
                }
                examples.append(.vector(try await embedUpload(data, name: "example-\(n + 1)")))
            }
            return examples
        }
        let (k, filter) = try kAndFilter(request)
        let positives =
            (feedback.positives ?? []).map { QueryExample.item($0) } + (try await uploaded(feedback.positiveImages))
            + (feedback.positiveTexts ?? []).map { QueryExample.text($0) }
        let negatives =
            (feedback.negatives ?? []).map { QueryExample.item($0) } + (try await uploaded(feedback.negativeImages))
            + (feedback.negativeTexts ?? []).map { QueryExample.text($0) }
        return (FeedbackQuery(positives: positives, negatives: negatives, learner: learner), k, filter)
    }

    /// Top k, or with `?threshold=` the page (`offset`, `limit` ≤ 10 000) of every item passing it.
    func feedbackAnswer(
        _ query: FeedbackQuery, k: Int, filter: SearchFilter, request: Request
    ) async throws -> ArchiveAnswer {
        let params = request.uri.queryParameters
        guard let text = params["threshold"] else { return try await archive.search(query, k: k, filter: filter) }
        guard let threshold = Float(String(text)), threshold.isFinite else {
            throw APIError(status: .badRequest, message: "threshold must be a number (got '\(text.prefix(40))')")
        }
        let offset = try params["offset"].map { try Self.integer(String($0), name: "offset") } ?? 0
        let limit = try params["limit"].map { try Self.integer(String($0), name: "limit") } ?? 1000
        guard limit > 0, limit <= 10_000 else { throw APIError(status: .badRequest, message: "limit must be 1…10000") }
        return try await archive.findAll(
            query, threshold: threshold, filter: filter, offset: Int(offset), limit: Int(limit))
    }

    static func exportFormat(_ request: Request) throws -> ArchiveExport.Format {
        let text = request.uri.queryParameters["format"].map(String.init) ?? "geojson"
        guard let format = ArchiveExport.Format(rawValue: text) else {
            throw APIError(status: .badRequest, message: "format must be geojson or csv (got '\(text.prefix(40))')")
        }
        return format
    }

    static func download(_ data: Data, format: ArchiveExport.Format, name: String) -> Response {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
        var response = bytes(data, type: format == .geojson ? "application/geo+json" : "text/csv; charset=utf-8")
        response.headers[.contentDisposition] = "attachment; filename=\"\(safe).\(format.rawValue)\""
        return response
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: Result<Data, APIError>) throws -> T {
        let data = try body.get()
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw APIError(
                status: .badRequest,
                message: "the body is not the expected JSON: \(String(describing: error).prefix(200))")
        }
    }
}
