// The small value types of a session description (RFC 8866 §5): attributes, connection data,
// origin, and the direction attributes of RFC 3264 §5.1.

/// An a= line: "a=name" (a property attribute) or "a=name:value".
public struct SDPAttribute: Sendable, Equatable {
    public var name: String
    /// The text after the first colon, exactly as written (it may start with a space, as in
    /// Chromium's "a=msid-semantic: WMS"); nil for a property attribute such as "a=rtcp-mux".
    public var value: String?
    /// Where the attribute was read from, so a bad value found later can point at its line.
    /// Not part of equality: a parsed attribute equals the same one built in code.
    public internal(set) var sourceLine: Int = 0

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    public static func == (lhs: SDPAttribute, rhs: SDPAttribute) -> Bool {
        lhs.name == rhs.name && lhs.value == rhs.value
    }

    /// The text after "a=".
    var lineValue: String {
        value.map { name + ":" + $0 } ?? name
    }
}

/// c= connection data (RFC 8866 §5.7). The network type is always IN.
public struct SDPConnection: Sendable, Equatable {
    /// "IP4" or "IP6".
    public var addressType: String
    /// As written: a unicast address, a host name, or a multicast address with its /ttl.
    public var address: String

    /// Infers the address type: only IPv6 addresses contain a colon.
    public init(address: String) {
        self.init(addressType: address.contains(":") ? "IP6" : "IP4", address: address)
    }

    public init(addressType: String, address: String) {
        self.addressType = addressType
        self.address = address
    }
}

/// o= origin (RFC 8866 §5.2). The network type is always IN.
public struct SDPOrigin: Sendable, Equatable {
    public var username: String
    /// Digits by the grammar, but compared only as text and far beyond UInt64 in some stacks.
    public var sessionID: String
    /// Incremented by the sender on each change of the description (RFC 3264 §8).
    public var sessionVersion: UInt64
    public var addressType: String
    public var address: String

    public init(username: String = "-", sessionID: String, sessionVersion: UInt64,
                addressType: String? = nil, address: String) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.addressType = addressType ?? (address.contains(":") ? "IP6" : "IP4")
        self.address = address
    }
}

/// The direction attributes of RFC 3264 §5.1 (RFC 8866 §6.7), seen from the writer's side.
public enum SDPDirection: String, Sendable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction an answer gives to an offer with this one (RFC 3264 §6.1): what the
    /// offerer only sends, the answerer only receives.
    public var reversed: SDPDirection {
        switch self {
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .sendrecv, .inactive: self
        }
    }
}

extension Array where Element == SDPAttribute {
    func first(named name: String) -> SDPAttribute? {
        first { $0.name == name }
    }

    func values(named name: String) -> [String] {
        filter { $0.name == name }.map { $0.value ?? "" }
    }

    /// The first direction attribute, if any; a description with several is malformed, and the
    /// first is what most stacks honour.
    var direction: SDPDirection? {
        lazy.compactMap { $0.value == nil ? SDPDirection(rawValue: $0.name) : nil }.first
    }
}
