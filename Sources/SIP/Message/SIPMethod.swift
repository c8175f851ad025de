/// A request method. Methods are case-sensitive tokens (RFC 3261 §7.1), so "invite" is an
/// extension method distinct from INVITE.
public struct SIPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static let invite = SIPMethod(rawValue: "INVITE")
    public static let ack = SIPMethod(rawValue: "ACK")
    public static let bye = SIPMethod(rawValue: "BYE")
    public static let cancel = SIPMethod(rawValue: "CANCEL")
    public static let options = SIPMethod(rawValue: "OPTIONS")
    public static let register = SIPMethod(rawValue: "REGISTER")
    public static let info = SIPMethod(rawValue: "INFO")
    public static let update = SIPMethod(rawValue: "UPDATE")
    public static let prack = SIPMethod(rawValue: "PRACK")
    public static let subscribe = SIPMethod(rawValue: "SUBSCRIBE")
    public static let notify = SIPMethod(rawValue: "NOTIFY")
    public static let refer = SIPMethod(rawValue: "REFER")
    public static let message = SIPMethod(rawValue: "MESSAGE")

    /// Whether the method is a valid token, i.e. can appear on a Request-Line.
    public var isValidToken: Bool {
        !rawValue.isEmpty && rawValue.utf8.allSatisfy(isTokenChar)
    }

    /// Reads a method from bytes, reusing the shared strings for the common methods so the
    /// parser does not build a new String for every request.
    static func from(_ p: Octets, _ lo: Int, _ hi: Int) -> SIPMethod {
        switch hi - lo {
        case 3:
            if equalsExactly(p, lo, hi, "BYE") { return .bye }
            if equalsExactly(p, lo, hi, "ACK") { return .ack }
        case 6:
            if equalsExactly(p, lo, hi, "INVITE") { return .invite }
            if equalsExactly(p, lo, hi, "CANCEL") { return .cancel }
            if equalsExactly(p, lo, hi, "NOTIFY") { return .notify }
            if equalsExactly(p, lo, hi, "UPDATE") { return .update }
        case 8:
            if equalsExactly(p, lo, hi, "REGISTER") { return .register }
        case 7:
            if equalsExactly(p, lo, hi, "OPTIONS") { return .options }
            if equalsExactly(p, lo, hi, "MESSAGE") { return .message }
        default: break
        }
        return SIPMethod(rawValue: decodeString(p, lo, hi))
    }
}
