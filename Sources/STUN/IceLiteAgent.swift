/// The gateway's side of ICE (RFC 8445 §2.5, lite implementation): it never
/// sends checks, it answers the browser's. A check counts only with the
/// right USERNAME (`ourUfrag:theirUfrag`), MESSAGE-INTEGRITY keyed with our
/// password and a valid FINGERPRINT; anything else gets 400/401 or nothing.
///
/// Media goes to the nominated address (USE-CANDIDATE), or, until one is
/// nominated, to the first address that passed a check: Chromium nominates
/// 50 to 60 ms after its first check and sends DTLS before that. When the
/// browser nominates another path, media follows it.
///
/// Consent freshness (RFC 7675): every valid check renews consent; with no
/// valid check for `consentTimeout`, media must stop.
public struct IceLiteAgent: Sendable {
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var ip: String
        public var port: UInt16
        public init(ip: String, port: UInt16) {
            self.ip = ip
            self.port = port
        }
        public var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
    }

    public enum Outcome: Sendable, Equatable {
        /// Send this response back to the address the check came from.
        case respond([UInt8])
        /// Not for us or not worth an answer (e.g. a response, an indication).
        case drop(String)
    }

    public let localUfrag: String
    public let localPassword: String
    public let remoteUfrag: String
    /// RFC 7675 §5.1: 30 s without consent ends the media.
    public var consentTimeout: Double = 30
    public private(set) var validated: Set<Address> = []
    public private(set) var nominated: Address?
    private var firstValidated: Address?
    private var lastConsent: Double?
    private let hasher: any STUNIntegrityHasher

    public init(localUfrag: String, localPassword: String, remoteUfrag: String,
                hasher: any STUNIntegrityHasher = OpenSSLIntegrityHasher()) {
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = remoteUfrag
        self.hasher = hasher
    }

    /// Where media goes now, if anywhere.
    public var mediaTarget: Address? { nominated ?? firstValidated }

    /// True when the last valid check is older than the consent timeout (or none came).
    public func consentExpired(now: Double) -> Bool {
        guard let lastConsent else { return false }
        return now - lastConsent > consentTimeout
    }

    /// Handles one STUN datagram from `source` at time `now` (seconds, any epoch).
    public mutating func receive(_ datagram: [UInt8], from source: Address, now: Double) -> Outcome {
        let message: STUNMessage
        do {
            message = try STUNMessage.parse(datagram)
        } catch {
            return .drop("not STUN: \(error)")
        }
        guard message.messageClass == .request, message.method == .binding else {
            return .drop("not a binding request")
        }
        guard message.fingerprint != nil, message.verifyFingerprint(in: datagram) else {
            return .drop("bad or missing FINGERPRINT")
        }
        let unknown = message.unknownComprehensionRequiredTypes
        if !unknown.isEmpty {
            return .respond(errorResponse(to: message, .unknownAttribute, withIntegrity: false))
        }
        // RFC 8445 §7.3: USERNAME must be ours:theirs and the MAC must use our password.
        guard let username = message.username, message.messageIntegrity != nil else {
            return .respond(errorResponse(to: message, .badRequest, withIntegrity: false))
        }
        guard username == "\(localUfrag):\(remoteUfrag)",
              message.verifyIntegrity(key: Array(localPassword.utf8), in: datagram, hasher: hasher) else {
            return .respond(errorResponse(to: message, .unauthenticated, withIntegrity: false))
        }
        if message.iceControlled != nil {
            // A lite agent is always controlled; a peer claiming the same role is in conflict.
            return .respond(errorResponse(to: message, .roleConflict, withIntegrity: true))
        }
        validated.insert(source)
        if firstValidated == nil { firstValidated = source }
        if message.useCandidate { nominated = source }
        lastConsent = now
        guard let mapped = STUNAddress(source.ip, port: source.port) else {
            return .drop("source address \(source) is not an IP")
        }
        let response = STUNMessage(messageClass: .successResponse, transactionID: message.transactionID,
                                   attributes: [.xorMappedAddress(mapped)])
        return .respond(response.serialize(integrityKey: Array(localPassword.utf8), fingerprint: true, hasher: hasher))
    }

    private func errorResponse(to request: STUNMessage, _ code: STUNErrorCode, withIntegrity: Bool) -> [UInt8] {
        let response = STUNMessage(messageClass: .errorResponse, transactionID: request.transactionID,
                                   attributes: [.errorCode(code)])
        return response.serialize(integrityKey: withIntegrity ? Array(localPassword.utf8) : nil,
                                  fingerprint: true, hasher: hasher)
    }
}

/// RFC 7983 §7: what the first byte of a datagram on a WebRTC port says it is.
public enum MediaDatagramKind: Sendable, Equatable {
    case stun, dtls, rtpOrRTCP, unknown

    public init(firstByte: UInt8) {
        switch firstByte {
        case 0...3: self = .stun
        case 20...63: self = .dtls
        case 128...191: self = .rtpOrRTCP
        default: self = .unknown
        }
    }
}
