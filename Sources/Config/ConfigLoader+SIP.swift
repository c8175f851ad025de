import Foundation
import Yams

// The `sip` and `media` sections.
extension ConfigLoader {
    static let sipKeys = ["listen", "public_address", "user_agent", "timers", "invite_timeout_s"]
    static let mediaKeys = ["rtp_ports", "public_address", "bind_address", "symmetric_rtp", "inband_dtmf",
                            "rtcp_interval_s", "consent_timeout_s", "opus", "dtls_certificate", "dtls_private_key",
                            "hold_music"]
    private static let opusKeys = ["complexity", "fec", "dtx", "packet_loss_percent"]
    private static let listenerKeys = ["transport", "address", "certificate", "private_key"]
    private static let timerKeys = ["t1_ms", "t2_ms", "t4_ms"]

    static func decodeSIP(_ reader: MappingReader?, context: ConfigContext) throws(ConfigError) -> SIPConfig {
        var listeners = [
            SIPConfig.Listener(transport: .udp, host: "0.0.0.0", port: 5060),
            SIPConfig.Listener(transport: .tcp, host: "0.0.0.0", port: 5060),
        ]
        if let reader, let items = try reader.sequence("listen") {
            guard !items.isEmpty else {
                throw context.error(reader.mark(of: "listen"), "listen needs at least one listener")
            }
            listeners = []
            var seen: [SIPConfig.Listener: Int] = [:]
            for (index, item) in items.enumerated() {
                let listener = try decodeListener(item, index: index, context: context)
                // Certificates don't make two sockets on one address possible.
                let key = SIPConfig.Listener(transport: listener.transport, host: listener.host, port: listener.port)
                if let firstLine = seen[key] {
                    throw context.error(item.mark, "duplicate listener \(listener.transport.rawValue) "
                        + "\(listener.address) (first given on line \(firstLine))")
                }
                seen[key] = item.mark?.line ?? 0
                listeners.append(listener)
            }
        }

        let first = listeners[0]
        var publicAddress = first.isWildcard ? "127.0.0.1" : first.host
        if let reader, let text = try reader.string("public_address") {
            publicAddress = try host(text, key: "public_address", mark: reader.mark(of: "public_address"), context: context)
        }

        var userAgent = "Tieline"
        if let reader, let text = try reader.string("user_agent") {
            // It goes into a header line as is; a line break would forge headers.
            guard text.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
                throw context.error(reader.mark(of: "user_agent"), "user_agent must be one line of printable text")
            }
            userAgent = text
        }

        let timers = try decodeTimers(reader?.mapping("timers", place: "in sip.timers", keys: timerKeys),
                                      context: context)
        let inviteTimeout = try reader?.int("invite_timeout_s", in: 1...3600) ?? 60
        return SIPConfig(listeners: listeners, publicAddress: publicAddress, userAgent: userAgent,
                         timers: timers, inviteTimeout: .seconds(inviteTimeout))
    }

    private static func decodeListener(_ node: Node, index: Int, context: ConfigContext)
        throws(ConfigError) -> SIPConfig.Listener {
        let reader = try MappingReader(node, place: "in sip.listen[\(index)]", keys: listenerKeys, context: context)
        guard reader.node("transport") != nil else { throw reader.missing("transport") }
        let transport = try reader.choice("transport", SIPTransportKind.self) ?? .udp
        var host = "0.0.0.0"
        var port = transport.defaultPort
        if let address = try reader.string("address") {
            let mark = reader.mark(of: "address")
            switch HostSyntax.split(address) {
            case .success(let parts):
                host = parts.host
                port = parts.port ?? port
            case .failure(.unbracketedIPv6):
                throw context.error(mark, "write an IPv6 address in brackets, like [::1]:5060, got \(ConfigContext.quoted(address))")
            case .failure(.badPort):
                throw context.error(mark, "the port in address must be between 1 and 65535, got \(ConfigContext.quoted(address))")
            case .failure(.badHost):
                throw context.error(mark, "address must be host:port, [IPv6]:port or a host, got \(ConfigContext.quoted(address))")
            }
        }
        let certificate = try reader.string("certificate").map { context.absolutePath($0) }
        let privateKey = try reader.string("private_key").map { context.absolutePath($0) }
        if transport == .tls {
            for (key, value) in [("certificate", certificate), ("private_key", privateKey)] where value == nil {
                throw context.error(reader.node(key)?.mark ?? reader.mark,
                                    "a tls listener needs both certificate and private_key (\(key) is missing)")
            }
        } else {
            for key in ["certificate", "private_key"] where reader.node(key) != nil {
                throw context.error(reader.mark(of: key), "\(key) applies only to tls listeners, "
                    + "this one is \(transport.rawValue)")
            }
        }
        return SIPConfig.Listener(transport: transport, host: host, port: port,
                                  certificate: certificate, privateKey: privateKey)
    }

    private static func decodeTimers(_ reader: MappingReader?, context: ConfigContext) throws(ConfigError) -> SIPConfig.Timers {
        guard let reader else { return SIPConfig.Timers() }
        let limit = 1...600_000
        let t1 = try reader.int("t1_ms", in: limit) ?? 500
        let t2 = try reader.int("t2_ms", in: limit) ?? 4000
        let t4 = try reader.int("t4_ms", in: limit) ?? 5000
        // Retransmissions double from T1 up to T2, so T2 below T1 is meaningless.
        if t2 < t1 {
            throw context.error(reader.mark(of: reader.node("t2_ms") != nil ? "t2_ms" : "t1_ms"),
                                "t2_ms (\(t2)) must not be smaller than t1_ms (\(t1))")
        }
        return SIPConfig.Timers(t1: .milliseconds(t1), t2: .milliseconds(t2), t4: .milliseconds(t4))
    }

    static func decodeMedia(_ reader: MappingReader?, sip: SIPConfig, context: ConfigContext)
        throws(ConfigError) -> MediaConfig {
        var ports = 20000...29999
        if let reader, let text = try reader.string("rtp_ports") {
            ports = try rtpPorts(text, mark: reader.mark(of: "rtp_ports"), context: context)
        }
        var publicAddress = sip.publicAddress
        if let reader, let text = try reader.string("public_address") {
            publicAddress = try host(text, key: "public_address", mark: reader.mark(of: "public_address"), context: context)
        }
        var media = MediaConfig(rtpPorts: ports, publicAddress: publicAddress)
        guard let reader else { return media }
        if let text = try reader.string("bind_address") {
            media.bindAddress = try host(text, key: "bind_address", mark: reader.mark(of: "bind_address"), context: context)
        }
        media.symmetricRTP = try reader.bool("symmetric_rtp") ?? true
        media.inbandDTMF = try reader.bool("inband_dtmf") ?? false
        media.rtcpIntervalSeconds = try reader.int("rtcp_interval_s", in: 1...60) ?? 5
        media.consentTimeoutSeconds = try reader.int("consent_timeout_s", in: 5...300) ?? 30
        if let opus = try reader.mapping("opus", place: "in media.opus", keys: opusKeys) {
            media.opus.complexity = try opus.int("complexity", in: 0...10) ?? 5
            media.opus.inbandFEC = try opus.bool("fec") ?? true
            media.opus.dtx = try opus.bool("dtx") ?? false
            media.opus.packetLossPercent = try opus.int("packet_loss_percent", in: 0...100) ?? 5
        }
        media.dtlsCertificate = try reader.string("dtls_certificate").map { context.absolutePath($0) }
        media.dtlsPrivateKey = try reader.string("dtls_private_key").map { context.absolutePath($0) }
        if let music = try reader.string("hold_music"), music != "tone" {
            guard !music.isEmpty else { throw context.error(reader.mark(of: "hold_music"), "hold_music is `tone` or a WAV file") }
            media.holdMusic = context.absolutePath(music)
        }
        if (media.dtlsCertificate == nil) != (media.dtlsPrivateKey == nil) {
            let given = media.dtlsCertificate == nil ? "dtls_private_key" : "dtls_certificate"
            throw context.error(reader.mark(of: given), "dtls_certificate and dtls_private_key go together "
                + "(only \(given) is given)")
        }
        return media
    }

    private static func rtpPorts(_ text: String, mark: Mark?, context: ConfigContext) throws(ConfigError) -> ClosedRange<Int> {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard bounds.count == 2, let low = HostSyntax.parsePort(Substring(bounds[0])),
              let high = HostSyntax.parsePort(Substring(bounds[1])) else {
            throw context.error(mark, "rtp_ports must be two ports from 1 to 65535 like \"20000-29999\", "
                + "got \(ConfigContext.quoted(text))")
        }
        guard low % 2 == 0 else {
            throw context.error(mark, "rtp_ports must start on an even port (RTP takes the even port of "
                + "each pair, RTCP the odd one), got \(low)")
        }
        guard high > low else {
            throw context.error(mark, "rtp_ports must run from low to high and hold at least one "
                + "RTP/RTCP pair, got \(ConfigContext.quoted(text))")
        }
        return low...high
    }

    /// A host name or IP address (IPv6 brackets optional, removed).
    static func host(_ text: String, key: String, mark: Mark?, context: ConfigContext) throws(ConfigError) -> String {
        guard let host = HostSyntax.host(text) else {
            let hint = text.contains(":") && !IPLiteral.isAddress(text) ? " (without a port)" : ""
            throw context.error(mark, "\(key) must be a host name or IP address\(hint), got \(ConfigContext.quoted(text))")
        }
        return host
    }
}
