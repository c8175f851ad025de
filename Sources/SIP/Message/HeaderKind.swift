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

    init<S: StringProtocol>(name: S) {
        if let kind = name.utf8.withContiguousStorageIfAvailable({ HeaderKind($0, 0, $0.count) }) {
            self = kind
        } else {
            self = Array(name.utf8).withUnsafeBufferPointer { HeaderKind($0, 0, $0.count) }
        }
    }

    /// Classifies a header name by length first, so most names are settled by one or two compares.
    init(_ p: Bytes, _ lo: Int, _ hi: Int) {
        @inline(__always) func eq(_ s: StaticString) -> Bool { equalsIgnoringCase(p, lo, hi, s) }
        switch hi - lo {
        case 1:
            switch asciiLower(p[lo]) {
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
        case 2: self = eq("To") ? .to : .other
        case 3: self = eq("Via") ? .via : .other
        case 4:
            if eq("From") { self = .from }
            else if eq("CSeq") { self = .cseq }
            else if eq("Date") { self = .date }
            else if eq("Path") { self = .path }
            else { self = .other }
        case 5:
            if eq("Route") { self = .route }
            else if eq("Allow") { self = .allow }
            else if eq("Event") { self = .event }
            else { self = .other }
        case 6: self = eq("Accept") ? .accept : .other
        case 7:
            if eq("Call-ID") { self = .callID }
            else if eq("Contact") { self = .contact }
            else if eq("Expires") { self = .expires }
            else if eq("Subject") { self = .subject }
            else if eq("Require") { self = .require }
            else if eq("Warning") { self = .warning }
            else { self = .other }
        case 8: self = eq("Refer-To") ? .referTo : .other
        case 9: self = eq("Supported") ? .supported : .other
        case 11:
            if eq("Referred-By") { self = .referredBy }
            else if eq("Unsupported") { self = .unsupported }
            else if eq("In-Reply-To") { self = .inReplyTo }
            else { self = .other }
        case 12:
            if eq("Content-Type") { self = .contentType }
            else if eq("Max-Forwards") { self = .maxForwards }
            else if eq("Record-Route") { self = .recordRoute }
            else if eq("Allow-Events") { self = .allowEvents }
            else { self = .other }
        case 13:
            if eq("Proxy-Require") { self = .proxyRequire }
            else if eq("Service-Route") { self = .serviceRoute }
            else { self = .other }
        case 14: self = eq("Content-Length") ? .contentLength : .other
        case 15:
            if eq("Session-Expires") { self = .sessionExpires }
            else if eq("Accept-Encoding") { self = .acceptEncoding }
            else if eq("Accept-Language") { self = .acceptLanguage }
            else { self = .other }
        case 16: self = eq("Content-Encoding") ? .contentEncoding : .other
        case 19: self = eq("P-Asserted-Identity") ? .pAssertedIdentity : .other
        default: self = .other
        }
    }
}
