import Yams

// The `web` section.
extension ConfigLoader {
    static let webKeys = ["https", "http", "http_on_network", "certificate", "private_key", "certificate_names",
                          "token_secret", "ice_servers", "max_calls_per_user", "max_connections_per_address",
                          "login_failures", "login_window_s", "login_block_s"]
    private static let iceServerKeys = ["urls", "username", "credential"]

    static func decodeWeb(_ reader: MappingReader?, dataDirectory: String, context: ConfigContext)
        throws(ConfigError) -> WebConfig {
        var web = WebConfig(certificate: context.absolutePath("certs/web.crt", base: dataDirectory),
                            privateKey: context.absolutePath("certs/web.key", base: dataDirectory))
        guard let reader else { return web }
        web.https = try webAddress(reader, "https", default: web.https, context: context)
        web.http = try webAddress(reader, "http", default: web.http, context: context)
        web.httpOnNetwork = try reader.bool("http_on_network") ?? false
        if let http = web.http, !web.httpOnNetwork, !isLoopback(http.host) {
            throw context.error(reader.mark(of: "http"), "plain http on \(http.host) is reachable from the network; "
                + "bind it to 127.0.0.1 or set http_on_network: true (browsers need https for microphones anyway)")
        }
        let certificate = try reader.string("certificate").map { context.absolutePath($0) }
        let key = try reader.string("private_key").map { context.absolutePath($0) }
        if (certificate == nil) != (key == nil) {
            let given = certificate == nil ? "private_key" : "certificate"
            throw context.error(reader.mark(of: given), "certificate and private_key go together (only \(given) is given)")
        }
        if let certificate, let key {
            web.certificate = certificate
            web.privateKey = key
        }
        if let names = try reader.sequence("certificate_names") {
            web.certificateNames = try names.map { node throws(ConfigError) in
                guard let text = try context.scalar(node, key: "certificate_names"), !text.isEmpty else {
                    throw context.error(node.mark, "certificate_names holds host names or IP addresses")
                }
                return try host(text, key: "certificate_names", mark: node.mark, context: context)
            }
        }
        if let secret = try reader.string("token_secret", secret: true), !secret.isEmpty {
            guard secret.utf8.count >= 16 else {
                throw context.error(reader.mark(of: "token_secret"), "token_secret must be at least 16 characters")
            }
            web.tokenSecret = secret
        }
        if let servers = try reader.sequence("ice_servers") {
            web.iceServers = try servers.enumerated().map { index, node throws(ConfigError) in
                let server = try MappingReader(node, place: "in web.ice_servers[\(index)]", keys: iceServerKeys,
                                               context: context)
                guard let urls = try server.sequence("urls"), !urls.isEmpty else { throw server.missing("urls") }
                let texts = try urls.map { node throws(ConfigError) -> String in
                    guard let text = try context.scalar(node, key: "urls"),
                          ["stun:", "stuns:", "turn:", "turns:"].contains(where: { text.hasPrefix($0) }) else {
                        throw context.error(node.mark, "ICE server urls start with stun:, stuns:, turn: or turns:")
                    }
                    return text
                }
                return WebConfig.ICEServer(urls: texts, username: try server.string("username"),
                                           credential: try server.string("credential", secret: true))
            }
        }
        web.maximumCallsPerUser = try reader.int("max_calls_per_user", in: 1...1000) ?? web.maximumCallsPerUser
        web.maximumConnectionsPerAddress = try reader.int("max_connections_per_address", in: 0...100_000)
            ?? web.maximumConnectionsPerAddress
        web.loginFailures = try reader.int("login_failures", in: 0...1000) ?? web.loginFailures
        web.loginWindowSeconds = try reader.int("login_window_s", in: 1...86400) ?? web.loginWindowSeconds
        web.loginBlockSeconds = try reader.int("login_block_s", in: 1...86400) ?? web.loginBlockSeconds
        return web
    }

    /// `"host:port"`, or null / "" / false to turn the listener off.
    private static func webAddress(_ reader: MappingReader, _ key: String, default value: WebConfig.Address?,
                                   context: ConfigContext) throws(ConfigError) -> WebConfig.Address? {
        guard reader.has(key) else { return value }
        // null, "" or off turn the listener off.
        guard let text = try reader.string(key), !["off", "false"].contains(text.lowercased()) else { return nil }
        let mark = reader.mark(of: key)
        switch HostSyntax.split(text) {
        case .success(let parts):
            guard let port = parts.port else {
                throw context.error(mark, "\(key) must be host:port, like 0.0.0.0:8443, got \(ConfigContext.quoted(text))")
            }
            return WebConfig.Address(host: parts.host, port: port)
        case .failure:
            throw context.error(mark, "\(key) must be host:port or [IPv6]:port, got \(ConfigContext.quoted(text))")
        }
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1"
            || (host.hasPrefix("127.") && host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber })
    }

}
