import Hummingbird
import JSONCoding
import NIOCore

/// The two representations of GeoReport v2, chosen by the path's extension (`services.json`,
/// `services.xml`), and how answers and errors are written in each.
enum Open311Format: String, Sendable, CaseIterable {
    case json
    case xml

    init(path: String) {
        self = path.lowercased().hasSuffix(".xml") ? .xml : .json
    }

    var contentType: String {
        switch self {
        case .json: "application/json; charset=utf-8"
        case .xml: "text/xml; charset=utf-8"
        }
    }

    /// The element names of GeoReport v2's XML: list elements and what each holds.
    static let xmlWriter = XMLWriter(itemNames: [
        "services": "service", "service_requests": "request", "endpoints": "endpoint", "formats": "format",
        "attributes": "attribute", "values": "value", "errors": "error",
    ])

    /// `value` as this format's body; `root` is the XML document element (JSON has none).
    func response(_ value: JSON, root: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let text = self == .json ? value.jsonString : Self.xmlWriter.document(value, root: root)
        var headers = headers
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// An error as GeoReport v2 writes it: `[{"code": 400, "description": "..."}]`, or
    /// `<errors><error><code/><description/></error></errors>`, with the problem's HTTP status; the
    /// description, and the problems it lists, in `language`.
    func response(_ problem: Problem, language: Language) -> Response {
        var description = problem.detail.text(in: language)
        if !problem.problems.isEmpty {
            let problems = problem.problems.map { $0.text(in: language) }
            description += language == .zhCN ? "：" + problems.joined(separator: "；") : ": " + problems.joined(separator: "; ")
        }
        let error: JSON = .array([["code": .integer(Int64(problem.status.code)), "description": .string(description)]])
        var headers = problem.headers
        headers[.contentLanguage] = language.rawValue
        return response(error, root: "errors", status: problem.status, headers: headers)
    }
}
