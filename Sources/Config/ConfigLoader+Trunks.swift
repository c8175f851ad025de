import Yams

// The `trunks` section.
extension ConfigLoader {
    private static let trunkKeys = [
        "name", "address", "port", "transport", "username", "password", "auth_username", "realm",
        "from_domain", "register", "register_expires_s", "allowed_sources", "verify_tls", "codecs",
        "called_number", "response_timeout_ms", "options_interval_s", "dtmf", "asserted_identity",
        "session_expires_s", "prack", "media_encryption",
    ]

    static func decodeTrunks(_ items: [Node], context: ConfigContext) throws(ConfigError) -> [TrunkConfig] {
        var trunks: [TrunkConfig] = []
        var firstLines: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let reader = try MappingReader(item, place: "in \(itemLabel(item, kind: "trunk", list: "trunks", index: index))",
                                           keys: trunkKeys, context: context)
            let trunk = try decodeTrunk(reader, context: context)
            if let firstLine = firstLines[trunk.name] {
                throw context.error(reader.mark(of: "name"), "duplicate trunk '\(trunk.name)' (first given on line \(firstLine))")
            }
            firstLines[trunk.name] = reader.mark(of: "name")?.line ?? 0
            trunks.append(trunk)
        }
        return trunks
    }

    private static func decodeTrunk(_ reader: MappingReader, context: ConfigContext) throws(ConfigError) -> TrunkConfig {
        let name = try validName(reader, kind: "trunk", context: context)
        let addressText = try reader.requiredString("address")
        let address = try host(addressText, key: "address", mark: reader.mark(of: "address"), context: context)
        let transport = try reader.choice("transport", SIPTransportKind.self) ?? .udp
        let port = try reader.int("port", in: 1...65535) ?? transport.defaultPort

        let username = try headerSafe(reader, "username", context: context)
        let password = try reader.string("password", secret: true)
        let authUsername = try headerSafe(reader, "auth_username", context: context) ?? username
        let realm = try headerSafe(reader, "realm", context: context)
        if password != nil, authUsername == nil {
            throw context.error(reader.mark(of: "password"), "trunk '\(name)' has a password but no username")
        }
        var fromDomain = address
        if let text = try reader.string("from_domain") {
            fromDomain = try host(text, key: "from_domain", mark: reader.mark(of: "from_domain"), context: context)
        }

        let register = try reader.bool("register") ?? false
        if register, username == nil {
            throw context.error(reader.mark(of: "register"), "trunk '\(name)' has register: true but no username "
                + "to register (an empty value, as from ${VAR:-}, counts as none)")
        }
        let expires = try reader.int("register_expires_s", in: 60...86400) ?? 3600

        // An IP trunk defaults to accepting calls from its own address; a
        // named one accepts none until its sources are listed, since what
        // the name resolves to today is no proof of who sends calls tomorrow.
        var allowedSources = IPAddressRange(address).map { [$0] } ?? []
        if let items = try reader.sequence("allowed_sources") {
            allowedSources = []
            for item in items {
                guard let text = try context.scalar(item, key: "allowed_sources"), let range = IPAddressRange(text) else {
                    throw context.error(item.mark, "allowed_sources entries must be IP addresses or CIDR ranges "
                        + "like 192.0.2.0/24, got \(ConfigContext.kind(of: item))")
                }
                allowedSources.append(range)
            }
        }

        let verifyTLS = try reader.bool("verify_tls") ?? true
        let codecs = try decodeCodecs(reader, context: context) ?? [.pcmu, .pcma, .g722]
        var trunk = TrunkConfig(name: name, address: address, port: port, transport: transport,
                                username: username, password: password, authUsername: authUsername,
                                realm: realm, fromDomain: fromDomain, register: register,
                                registerExpiresSeconds: expires, allowedSources: allowedSources,
                                verifyTLS: verifyTLS, codecs: codecs)
        trunk.calledNumber = try reader.choice("called_number", TrunkConfig.CalledNumberSource.self) ?? .requestURI
        trunk.responseTimeout = .milliseconds(try reader.int("response_timeout_ms", in: 200...32000) ?? 3000)
        trunk.optionsInterval = .seconds(try reader.int("options_interval_s", in: 0...3600) ?? 0)
        trunk.dtmf = try reader.choice("dtmf", TrunkConfig.DTMFMode.self) ?? .auto
        trunk.assertedIdentity = try reader.bool("asserted_identity") ?? false
        trunk.prack = try reader.choice("prack", TrunkConfig.PrackMode.self) ?? .supported
        trunk.mediaEncryption = try reader.choice("media_encryption", TrunkConfig.MediaEncryption.self) ?? .off
        if let seconds = try reader.int("session_expires_s", in: 0...86400) {
            guard seconds == 0 || seconds >= 90 else {
                throw context.error(reader.mark(of: "session_expires_s"),
                                    "session_expires_s is 0 (off) or at least 90 (RFC 4028's smallest Min-SE)")
            }
            trunk.sessionExpiresSeconds = seconds
        }
        return trunk
    }

    private static func decodeCodecs(_ reader: MappingReader, context: ConfigContext) throws(ConfigError) -> [TrunkConfig.Codec]? {
        guard let items = try reader.sequence("codecs") else { return nil }
        guard !items.isEmpty else {
            throw context.error(reader.mark(of: "codecs"), "codecs must list at least one codec")
        }
        var codecs: [TrunkConfig.Codec] = []
        for item in items {
            let text = try context.scalar(item, key: "codecs") ?? ""
            guard let codec = TrunkConfig.Codec.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                let names = TrunkConfig.Codec.allCases.map(\.rawValue).joined(separator: ", ")
                throw context.error(item.mark, "codecs must each be one of \(names), got \(ConfigContext.kind(of: item))")
            }
            guard !codecs.contains(codec) else {
                throw context.error(item.mark, "codec \(codec.rawValue) is listed twice")
            }
            codecs.append(codec)
        }
        return codecs
    }

    /// Strings that end up inside SIP header values (digest usernames and
    /// realms are quoted strings), so quotes, backslashes and line breaks are refused.
    private static func headerSafe(_ reader: MappingReader, _ key: String, context: ConfigContext) throws(ConfigError) -> String? {
        guard let text = try reader.string(key) else { return nil }
        let safe = text.unicodeScalars.allSatisfy {
            $0.properties.generalCategory != .control && $0 != "\"" && $0 != "\\"
        }
        guard safe else {
            throw context.error(reader.mark(of: key), "\(key) must not contain quotes, backslashes or control characters")
        }
        return text
    }
}
