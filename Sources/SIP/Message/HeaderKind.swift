// Header field names the message layer knows about.
//
// Each stored field carries its kind, computed once when the field is added, so lookups compare a
// byte instead of case-folding names, and compact forms (RFC 3261 §7.3.3) meet their long forms.

enum HeaderKind: UInt8, Sendable {
    case other
    case via, from, to, callID, cseq, contact, contentLength, contentType, contentEncoding
    case maxForwards, route, recordRoute, expires, supported, subject, event, referTo, referredBy
    case allowEvents, sessionExpires, allow, require, proxyRequire, unsupported, accept
    case acceptEncoding, acceptLanguage, inReplyTo, warning, path, serviceRoute, pAssertedIdentity
    case date

    /// Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so several values in one
    /// field mean the same as several fields. WWW-Authenticate and friends are deliberately absent:
    /// their commas separate auth-params, not values.
    var isList: Bool {
        switch self {
        case .via, .contact, .route, .recordRoute, .allow, .supported, .require, .proxyRequire,
             .unsupported, .accept, .acceptEncoding, .acceptLanguage, .contentEncoding, .allowEvents,
             .inReplyTo, .warning, .path, .serviceRoute, .pAssertedIdentity:
            return true
        default:
            return false
        }
    }

    /// The long-form name, as RFC 3261 spells it.
    var canonicalName: String {
        switch self {
        case .other: return ""
        case .via: return "Via"
        case .from: return "From"
        case .to: return "To"
        case .callID: return "Call-ID"
        case .cseq: return "CSeq"
        case .contact: return "Contact"
        case .contentLength: return "Content-Length"
        case .contentType: return "Content-Type"
        case .contentEncoding: return "Content-Encoding"
        case .maxForwards: return "Max-Forwards"
        case .route: return "Route"
        case .recordRoute: return "Record-Route"
        case .expires: return "Expires"
        case .supported: return "Supported"
        case .subject: return "Subject"
        case .event: return "Event"
        case .referTo: return "Refer-To"
        case .referredBy: return "Referred-By"
        case .allowEvents: return "Allow-Events"
        case .sessionExpires: return "Session-Expires"
        case .allow: return "Allow"
        case .require: return "Require"
        case .proxyRequire: return "Proxy-Require"
        case .unsupported: return "Unsupported"
        case .accept: return "Accept"
        case .acceptEncoding: return "Accept-Encoding"
        case .acceptLanguage: return "Accept-Language"
        case .inReplyTo: return "In-Reply-To"
        case .warning: return "Warning"
        case .path: return "Path"
        case .serviceRoute: return "Service-Route"
        case .pAssertedIdentity: return "P-Asserted-Identity"
        case .date: return "Date"
        }
    }

    /// For names from the application, which unlike parsed ones are not known to be tokens.
    init<S: StringProtocol>(name: S) {
        guard name.utf8.allSatisfy(isTokenChar) else {
            self = .other
            return
        }
        if let kind = name.utf8.withContiguousStorageIfAvailable({ HeaderKind($0, 0, $0.count) }) {
            self = kind
        } else {
            self = Array(name.utf8).withUnsafeBufferPointer { HeaderKind($0, 0, $0.count) }
        }
    }

    /// Classifies a header name, which must be a token, by its length and first letter, so most
    /// names are settled by a single comparison.
    init(_ p: Octets, _ lo: Int, _ hi: Int) {
        @inline(__always) func eq(_ s: StaticString) -> Bool { tokenEqualsIgnoringCase(p, lo, hi, s) }
        guard hi > lo else { self = .other; return }
        let first = asciiLower(p[lo])
        switch (hi - lo, first) {
        case (1, _): self = HeaderKind(compact: first)
        case (2, UInt8(ascii: "t")): self = eq("To") ? .to : .other
        case (3, UInt8(ascii: "v")): self = eq("Via") ? .via : .other
        case (4, UInt8(ascii: "f")): self = eq("From") ? .from : .other
        case (4, UInt8(ascii: "c")): self = eq("CSeq") ? .cseq : .other
        case (4, UInt8(ascii: "d")): self = eq("Date") ? .date : .other
        case (4, UInt8(ascii: "p")): self = eq("Path") ? .path : .other
        case (5, UInt8(ascii: "r")): self = eq("Route") ? .route : .other
        case (5, UInt8(ascii: "a")): self = eq("Allow") ? .allow : .other
        case (5, UInt8(ascii: "e")): self = eq("Event") ? .event : .other
        case (6, UInt8(ascii: "a")): self = eq("Accept") ? .accept : .other
        case (7, UInt8(ascii: "c")): self = eq("Call-ID") ? .callID : eq("Contact") ? .contact : .other
        case (7, UInt8(ascii: "e")): self = eq("Expires") ? .expires : .other
        case (7, UInt8(ascii: "s")): self = eq("Subject") ? .subject : .other
        case (7, UInt8(ascii: "r")): self = eq("Require") ? .require : .other
        case (7, UInt8(ascii: "w")): self = eq("Warning") ? .warning : .other
        case (8, UInt8(ascii: "r")): self = eq("Refer-To") ? .referTo : .other
        case (9, UInt8(ascii: "s")): self = eq("Supported") ? .supported : .other
        case (11, UInt8(ascii: "r")): self = eq("Referred-By") ? .referredBy : .other
        case (11, UInt8(ascii: "u")): self = eq("Unsupported") ? .unsupported : .other
        case (11, UInt8(ascii: "i")): self = eq("In-Reply-To") ? .inReplyTo : .other
        case (12, UInt8(ascii: "c")): self = eq("Content-Type") ? .contentType : .other
        case (12, UInt8(ascii: "m")): self = eq("Max-Forwards") ? .maxForwards : .other
        case (12, UInt8(ascii: "r")): self = eq("Record-Route") ? .recordRoute : .other
        case (12, UInt8(ascii: "a")): self = eq("Allow-Events") ? .allowEvents : .other
        case (13, UInt8(ascii: "p")): self = eq("Proxy-Require") ? .proxyRequire : .other
        case (13, UInt8(ascii: "s")): self = eq("Service-Route") ? .serviceRoute : .other
        case (14, UInt8(ascii: "c")): self = eq("Content-Length") ? .contentLength : .other
        case (15, UInt8(ascii: "s")): self = eq("Session-Expires") ? .sessionExpires : .other
        case (15, UInt8(ascii: "a")):
            self = eq("Accept-Encoding") ? .acceptEncoding : eq("Accept-Language") ? .acceptLanguage : .other
        case (16, UInt8(ascii: "c")): self = eq("Content-Encoding") ? .contentEncoding : .other
        case (19, UInt8(ascii: "p")): self = eq("P-Asserted-Identity") ? .pAssertedIdentity : .other
        default: self = .other
        }
    }

    /// The compact forms of RFC 3261 §7.3.3 and the extensions that define one.
    private init(compact c: UInt8) {
        switch c {
        case UInt8(ascii: "v"): self = .via
        case UInt8(ascii: "f"): self = .from
        case UInt8(ascii: "t"): self = .to
        case UInt8(ascii: "i"): self = .callID
        case UInt8(ascii: "m"): self = .contact
        case UInt8(ascii: "l"): self = .contentLength
        case UInt8(ascii: "c"): self = .contentType
        case UInt8(ascii: "e"): self = .contentEncoding
        case UInt8(ascii: "k"): self = .supported
        case UInt8(ascii: "s"): self = .subject
        case UInt8(ascii: "o"): self = .event
        case UInt8(ascii: "r"): self = .referTo
        case UInt8(ascii: "b"): self = .referredBy
        case UInt8(ascii: "u"): self = .allowEvents
        case UInt8(ascii: "x"): self = .sessionExpires
        default: self = .other
        }
    }
}
