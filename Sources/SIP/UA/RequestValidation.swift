/// The checks of RFC 3261 §8.2.1 to §8.2.3 that a UAS makes before it acts
/// on a new request, each with the response the RFC prescribes (RFC 4475 §3.3
/// exercises them).
struct RequestRefusal {
    var code: Int
    var reason: String
    var headers: [(String, String)] = []
}

extension SIPUserAgent {
    static func validate(_ request: SIPRequest) -> RequestRefusal? {
        let headers = request.headers
        // §8.2.2.1: we serve only SIP URIs.
        let scheme = request.uri.scheme
        if scheme != "sip" && scheme != "sips" {
            return RequestRefusal(code: 416, reason: "Unsupported URI Scheme")
        }
        // §16.3 item 2 applied by a UA: Max-Forwards 0 means the request looped
        // or travelled too far; OPTIONS may still be answered.
        if let maxForwards = headers.maxForwards, maxForwards == 0, request.method != .options {
            return RequestRefusal(code: 483, reason: "Too Many Hops")
        }
        // §8.2.2.3: the only extension a peer may require of us is RFC 4028's.
        let implemented = SIPUserAgent.supportedExtensions.split(separator: ",").map { $0.sipTrimmed.lowercased() }
        let required = headers.all("Require").filter { !$0.isEmpty && !implemented.contains($0.lowercased()) }
        if !required.isEmpty, request.method != .cancel, request.method != .ack {
            return RequestRefusal(code: 420, reason: "Bad Extension",
                                  headers: [("Unsupported", required.joined(separator: ", "))])
        }
        // §8.2.3: a body we cannot read.
        if !request.body.isEmpty, request.method == .invite {
            let type = (headers.contentType ?? "application/sdp").lowercased()
            let mediaType = type.split(separator: ";").first.map { $0.sipTrimmed } ?? ""
            if mediaType != "application/sdp" && mediaType != "multipart/mixed" {
                return RequestRefusal(code: 415, reason: "Unsupported Media Type",
                                      headers: [("Accept", "application/sdp")])
            }
        }
        return nil
    }
}

extension Substring {
    var sipTrimmed: String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
