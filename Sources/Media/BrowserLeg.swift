import NIOCore
import RTP
import STUN
import SecureMedia

/// The WebRTC side of a call on its one UDP port: ICE-lite checks, the
/// DTLS handshake, then SRTP and SRTCP, told apart by first byte (RFC 7983).
/// Media is accepted only from addresses that passed an ICE check, and sent
/// only to the nominated one (or the first validated, until nomination).
final class BrowserLeg {
    enum State: Equatable {
        case checking
        case handshaking
        case connected(SRTPProfile)
        case failed(String)
    }

    /// What a datagram turned out to be, once decrypted in place.
    enum Received {
        case nothing
        case rtp(length: Int)
        case rtcp(length: Int)
    }

    private(set) var state = State.checking
    private(set) var ice: IceLiteAgent
    /// Released once SRTP arrives: the browser only sends media after the
    /// handshake is complete on its side, so no flight of ours can still be
    /// needed, and the connection's OpenSSL state is tens of KB per call.
    private var dtls: DTLSEndpoint?
    private var inbound: SRTPSession?
    private var outbound: SRTPSession?
    private var validated: [SocketAddress] = []
    private var targetAddress: IceLiteAgent.Address?
    /// Where media goes now.
    private(set) var target: SocketAddress?
    private let startedAt: Double

    // Counters for the call's statistics (and tests).
    private(set) var droppedUnauthenticated = 0
    private(set) var droppedUndecryptable = 0
    private(set) var droppedUnknown = 0

    init(ice: IceLiteAgent, dtls: DTLSEndpoint, now: Double) {
        self.ice = ice
        self.dtls = dtls
        startedAt = now
    }

    /// Handles one datagram in `buffer` (`length` bytes); answers STUN and
    /// DTLS through `send`, and decrypts SRTP/SRTCP in place.
    func receive(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress, now: Double,
                 send: ([UInt8], SocketAddress) -> Void) -> Received {
        guard length > 0 else { return .nothing }
        switch MediaDatagramKind(firstByte: buffer[0]) {
        case .stun:
            receiveSTUN(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<length])), from: source, now: now, send: send)
            return .nothing
        case .dtls:
            guard validated.contains(source) else {
                droppedUnauthenticated += 1
                return .nothing
            }
            guard dtls != nil else {
                // RFC 5764 §4.x leaves DTLS alive only for alerts now: a
                // record of content type alert (21) is the browser closing.
                if Self.isDTLSAlert(buffer, length: length) {
                    state = .failed("DTLS: the browser closed the connection (alert)")
                }
                return .nothing
            }
            receiveDTLS(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<length])), from: source, send: send)
            return .nothing
        case .rtpOrRTCP:
            guard let inbound, validated.contains(source), length >= 12 else {
                droppedUnauthenticated += 1
                return .nothing
            }
            let isRTCP = length >= 8 && RTCPPacket.isRTCP(buffer[1])
            guard let plain = try? inbound.unprotect(buffer, length: length, rtcp: isRTCP) else {
                droppedUndecryptable += 1
                return .nothing
            }
            if dtls != nil { dtls = nil }
            return isRTCP ? .rtcp(length: plain) : .rtp(length: plain)
        case .unknown:
            droppedUnknown += 1
            return .nothing
        }
    }

    /// Encrypts an RTP or RTCP packet in place for the browser; nil when
    /// the leg has no keys yet or nowhere to send.
    func protect(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool = false) -> Int? {
        guard let outbound, target != nil else { return nil }
        return try? outbound.protect(buffer, length: length, rtcp: rtcp)
    }

    /// Timers: DTLS retransmission, ICE and consent deadlines (RFC 7675).
    func tick(now: Double, connectTimeout: Double, send: ([UInt8], SocketAddress) -> Void) {
        if case .failed = state { return }
        if state == .handshaking, let dtls, let remaining = dtls.timeoutMilliseconds, remaining <= 0, let target {
            for datagram in dtls.handleTimeout() { send(datagram, target) }
        }
        if validated.isEmpty, now - startedAt > connectTimeout {
            state = .failed("ICE: no valid connectivity check within \(Int(connectTimeout)) s")
        } else if ice.consentExpired(now: now) {
            state = .failed("ICE: consent expired (no valid check for \(Int(ice.consentTimeout)) s)")
        }
    }

    /// A DTLS 1.0/1.2 record header (RFC 6347 §4.1) of content type alert,
    /// encrypted (epoch ≥ 1), whose length fits the datagram.
    static func isDTLSAlert(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Bool {
        guard length >= 13, buffer[0] == 21, buffer[1] == 0xFE, buffer[2] == 0xFD || buffer[2] == 0xFF else { return false }
        let epoch = Int(buffer[3]) << 8 | Int(buffer[4])
        let recordLength = Int(buffer[11]) << 8 | Int(buffer[12])
        return epoch >= 1 && 13 + recordLength <= length
    }

    private func receiveSTUN(_ datagram: [UInt8], from source: SocketAddress, now: Double,
                             send: ([UInt8], SocketAddress) -> Void) {
        guard let ip = source.ipAddress, let port = source.port else { return }
        let address = IceLiteAgent.Address(ip: ip, port: UInt16(port))
        switch ice.receive(datagram, from: address, now: now) {
        case .respond(let response):
            send(response, source)
        case .drop:
            return
        }
        guard ice.validated.contains(address) else { return }
        if !validated.contains(source) { validated.append(source) }
        if let mediaTarget = ice.mediaTarget, mediaTarget != targetAddress {
            targetAddress = mediaTarget
            target = try? SocketAddress(ipAddress: mediaTarget.ip, port: Int(mediaTarget.port))
        }
        if state == .checking {
            state = .handshaking
            // As the DTLS client we speak first, once the path is proven.
            if let dtls, dtls.role == .client, let target {
                for flight in dtls.start() { send(flight, target) }
            }
        }
    }

    private func receiveDTLS(_ datagram: [UInt8], from source: SocketAddress, send: ([UInt8], SocketAddress) -> Void) {
        guard let dtls else { return }
        if state == .checking { state = .handshaking }
        for reply in dtls.receive(datagram) { send(reply, source) }
        guard state == .handshaking else { return }
        switch dtls.state {
        case .handshaking:
            break
        case .failed(let reason):
            state = .failed("DTLS: \(reason)")
        case .connected(let profile):
            guard let keys = dtls.srtpKeys(),
                  let inbound = try? SRTPSession(profile: keys.profile, masterKey: keys.remote, outbound: false),
                  let outbound = try? SRTPSession(profile: keys.profile, masterKey: keys.local, outbound: true) else {
                state = .failed("SRTP: could not key the sessions from DTLS")
                return
            }
            self.inbound = inbound
            self.outbound = outbound
            state = .connected(profile)
        }
    }
}
