import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A street-level address from an OpenStreetMap Nominatim server's reverse geocoding.
public struct StreetAddress: Sendable, Codable, Equatable {
    /// Nominatim's one-line form: `"12, Main Street, Jamestown, Stutsman County, North Dakota, 58401, United States"`.
    public let displayName: String
    public let road: String?
    public let houseNumber: String?
    /// City, town, village or hamlet, whichever the address has.
    public let locality: String?
    public let postcode: String?
    public let state: String?
    public let country: String?
}

/// Why an address could not be had (the item is shown without one).
public struct GeocoderError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Reverse geocoding against a Nominatim server the user names (`--geocoder URL`): never required, never
/// contacted unless named. Requests are spaced at least `minimumInterval` apart (the public server's usage policy
/// asks for one per second), each bounded by `timeout` and 1 MiB, and answers are kept per point (5 decimals,
/// about a metre), so one item asked for twice costs one request.
public actor NominatimClient {
    public let endpoint: URL
    private let minimumInterval: Double
    private let timeout: Double
    private let session: URLSession
    private var lastRequest = Date.distantPast
    private var answers: [String: StreetAddress?] = [:]
    private static let maximumAnswers = 100_000
    private static let maximumBytes = 1 << 20

    public init(endpoint: URL, minimumInterval: Double = 1, timeout: Double = 10) {
        self.endpoint = endpoint
        self.minimumInterval = minimumInterval
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpAdditionalHeaders = ["User-Agent": "SatSeek (content-based image retrieval)"]
        session = URLSession(configuration: configuration)
    }

    /// The address at (`longitude`, `latitude`), or `nil` where the server knows none (open sea).
    /// - Throws: ``GeocoderError`` naming the server for an unreachable server, an error status or an answer that
    ///   is not Nominatim's JSON.
    public func address(longitude: Double, latitude: Double) async throws -> StreetAddress? {
        let key = String(format: "%.5f,%.5f", longitude, latitude)
        if let known = answers[key] { return known }
        let wait = lastRequest.addingTimeInterval(minimumInterval).timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        lastRequest = Date()
        var components = URLComponents(url: endpoint.appendingPathComponent("reverse"), resolvingAgainstBaseURL: false)
        components?.queryItems = [
            URLQueryItem(name: "lat", value: String(format: "%.6f", latitude)),
            URLQueryItem(name: "lon", value: String(format: "%.6f", longitude)),
            URLQueryItem(name: "format", value: "jsonv2"), URLQueryItem(name: "addressdetails", value: "1"),
            URLQueryItem(name: "zoom", value: "18")
        ]
        guard let url = components?.url else { throw GeocoderError(description: "\(endpoint): not a usable URL") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(from: url)
        } catch {
            throw GeocoderError(description: "geocoder \(endpoint) did not answer: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else { throw GeocoderError(description: "geocoder \(endpoint) answered HTTP \(status)") }
        guard data.count <= Self.maximumBytes else {
            throw GeocoderError(description: "geocoder \(endpoint) answered more than 1 MiB")
        }
        let address = try Self.parse(data, endpoint: endpoint)
        if answers.count >= Self.maximumAnswers { answers.removeAll() }
        answers[key] = .some(address)
        return address
    }

    /// Nominatim's `jsonv2` reverse answer: `{"display_name": …, "address": {…}}`, or `{"error": …}` where there is
    /// no address.
    static func parse(_ data: Data, endpoint: URL) throws -> StreetAddress? {
        struct Answer: Decodable {
            let display_name: String?
            let address: [String: String]?
            let error: String?
        }
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw GeocoderError(description: "geocoder \(endpoint) did not answer Nominatim JSON")
        }
        guard answer.error == nil, let name = answer.display_name else { return nil }
        let parts = answer.address ?? [:]
        return StreetAddress(
            displayName: name, road: parts["road"], houseNumber: parts["house_number"],
            locality: parts["city"] ?? parts["town"] ?? parts["village"] ?? parts["hamlet"],
            postcode: parts["postcode"], state: parts["state"], country: parts["country"])
    }
}
