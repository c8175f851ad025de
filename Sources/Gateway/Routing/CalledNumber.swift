import Config
import SIP

/// Where a trunk's INVITE names the number it is for. Trunks that take a
/// registration send the call to the contact we registered, so the request
/// URI's user is ours (`tl-<trunk>`, or the plain contact user) and the
/// dialled number is only in To (RFC 3261 §16.6 step 2, §10.3: the registrar
/// rewrites the Request-URI, never To). Carriers that forward calls, or IMS
/// cores, say it in a header the trunk's `called_number` names.
enum CalledNumber {
    static func find(in request: SIPRequest, source: TrunkConfig.CalledNumberSource,
                     ourContactUsers: Set<String>) -> String {
        if let fromHeader = header(source, in: request), !fromHeader.isEmpty { return fromHeader }
        if source != .to, let user = request.uri.user, !user.isEmpty, !ourContactUsers.contains(user) { return user }
        return request.headers.to?.uri.user ?? request.uri.user ?? ""
    }

    private static func header(_ source: TrunkConfig.CalledNumberSource, in request: SIPRequest) -> String? {
        switch source {
        case .requestURI, .to:
            return nil
        case .pCalledPartyID:
            return request.headers["P-Called-Party-ID"].flatMap(user(ofNameAddress:))
        case .historyInfo:
            // RFC 7044 §10.3: entries in order; the first is the original target.
            let entries = request.headers.all("History-Info").flatMap(splitTopLevel)
            return entries.first.flatMap(user(ofNameAddress:))
        case .diversion:
            // RFC 5806 §3: each diverting hop is added on top, so the original is last.
            let entries = request.headers.all("Diversion").flatMap(splitTopLevel)
            return entries.last.flatMap(user(ofNameAddress:))
        }
    }

    private static func user(ofNameAddress text: String) -> String? {
        (try? NameAddress.parse(text.trimmingSpaces))?.uri.user
    }

    /// Splits a header value at commas outside <...> and quotes.
    static func splitTopLevel(_ value: String) -> [String] {
        var parts: [String] = [], current = "", angle = false, quoted = false
        for character in value {
            switch character {
            case "<" where !quoted: angle = true
            case ">" where !quoted: angle = false
            case "\"": quoted.toggle()
            case "," where !angle && !quoted:
                parts.append(current); current = ""; continue
            default: break
            }
            current.append(character)
        }
        parts.append(current)
        return parts.map(\.trimmingSpaces).filter { !$0.isEmpty }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}

extension Gateway {
    /// The user parts our own contacts carry: a request addressed to one of
    /// them was retargeted to us by a registrar.
    var ourContactUsers: Set<String> {
        Set(config.trunks.filter(\.register).map(\.registrationContactUser) + [userAgent.configuration.contactUser])
    }

    func calledNumber(_ request: SIPRequest, trunk: TrunkConfig?) -> String {
        CalledNumber.find(in: request, source: trunk?.calledNumber ?? .requestURI, ourContactUsers: ourContactUsers)
    }
}
