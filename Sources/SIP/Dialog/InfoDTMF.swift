/// DTMF in SIP INFO bodies, as PBXs and carriers send it where RTP events
/// (RFC 4733) are not negotiated: `application/dtmf-relay` (Cisco's
/// "Signal=5\r\nDuration=160") and `application/dtmf` (the digit alone).
/// Neither has an RFC; both are what Asterisk, FreeSWITCH and Cisco send.
public enum InfoDTMF {
    public static let relayType = "application/dtmf-relay"
    public static let plainType = "application/dtmf"

    /// The digit in an INFO body of either type; nil for other types or a
    /// body that names no digit (0-9, *, #, A-D; 10 and 11 for * and #).
    public static func digit(contentType: String?, body: [UInt8]) -> Character? {
        guard let type = contentType?.split(separator: ";").first.map({ trimmed($0).lowercased() }) else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        switch type {
        case relayType:
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, trimmed(parts[0]).lowercased() == "signal" else { continue }
                return normalized(String(trimmed(parts[1])))
            }
            return nil
        case plainType:
            return normalized(String(trimmed(text[...])))
        default:
            return nil
        }
    }

    /// An `application/dtmf-relay` body for one digit.
    public static func relayBody(_ digit: Character, milliseconds: Int) -> [UInt8] {
        Array("Signal=\(digit)\r\nDuration=\(milliseconds)\r\n".utf8)
    }

    /// Without Foundation: blanks and line ends off both sides.
    private static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        var slice = text
        while let first = slice.first, blank(first) { slice.removeFirst() }
        while let last = slice.last, blank(last) { slice.removeLast() }
        return slice
    }

    private static func normalized(_ text: String) -> Character? {
        switch text.uppercased() {
        case "10": "*"
        case "11": "#"
        case let one where one.count == 1 && "0123456789*#ABCD".contains(one): one.first
        default: nil
        }
    }
}

extension Dialog {
    /// Sends an INFO in the dialog (RFC 6086 §4.2, legacy use without an
    /// Info-Package, as DTMF relay is used) and reports its final status:
    /// 408 for no response, 481 when the dialog has ended.
    public func sendInfo(body: [UInt8], contentType: String, completion: @escaping (Int) -> Void = { _ in }) {
        guard !isTerminated, let userAgent else { return completion(481) }
        var request = makeRequest(.info)
        request.headers.add("Content-Type", contentType)
        request.body = body
        userAgent.stampVia(&request, transport: transport)
        withNextHop { [weak userAgent] hop in
            guard let userAgent else { return completion(481) }
            userAgent.transactions.send(request, to: hop) { event in
                switch event {
                case .response(let response) where response.statusCode < 200: return
                case .response(let response): completion(response.statusCode)
                case .timeout: completion(408)
                case .transportError: completion(503)
                }
            }
        }
    }
}
