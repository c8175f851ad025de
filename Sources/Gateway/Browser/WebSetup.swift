import Config
import Logging
import NIOSSL
import Signaling

/// The signaling server a gateway runs, from the `web` and `users` sections.
public enum WebSetup {
    public struct Prepared: Sendable {
        public var server: SignalingServer
        /// The HTTPS certificate's SHA-256 fingerprint, and whether it was made just now.
        public var certificate: WebCertificate.Made?
    }

    /// Checks the passwords, loads or makes the certificate, builds the server.
    public static func prepare(config: TielineConfig, gateway: Gateway, logger: Logger) throws -> Prepared {
        let users = userDirectory(config)
        let web = config.web
        let exposed = [web.https, web.http].compactMap { $0 }.filter { !ConfigLoader.isLoopback($0.host) }
        if let listener = exposed.first {
            for user in users.userNames where users.hasWellKnownPassword(user) {
                throw WebSetupError("user '\(user)' has a well-known password and the web server listens on "
                    + "\(listener.host):\(listener.port), beyond this machine; set a real password "
                    + "(or password_hash from `tieline passwd`) first")
            }
        }
        var configuration = SignalingServer.Configuration()
        configuration.iceServers = web.iceServers.map {
            ICEServer(urls: $0.urls, username: $0.username, credential: $0.credential)
        }
        configuration.loginPolicy = LoginThrottle.Policy(
            maximumFailures: web.loginFailures, window: Double(web.loginWindowSeconds),
            blockDuration: Double(web.loginBlockSeconds))
        configuration.maximumCallsPerUser = web.maximumCallsPerUser
        configuration.maximumConnectionsPerAddress = web.maximumConnectionsPerAddress
        var made: WebCertificate.Made?
        if let https = web.https {
            made = try WebCertificate.ensure(certificatePath: web.certificate, keyPath: web.privateKey,
                                             names: config.webCertificateNames)
            let chain = try NIOSSLCertificate.fromPEMFile(web.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: web.privateKey, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            configuration.listeners.append(.init(host: https.host, port: https.port, tls: tls))
        }
        if let http = web.http {
            configuration.listeners.append(.init(host: http.host, port: http.port))
        }
        let server = try SignalingServer(configuration: configuration, users: users,
                                         backend: gateway.signalingBackend, logger: logger)
        return Prepared(server: server, certificate: made)
    }

    public static func userDirectory(_ config: TielineConfig) -> UserDirectory {
        UserDirectory(users: config.users.map { user in
            switch user.credential {
            case .password(let password): (user.name, .password(password))
            case .passwordHash(let hash): (user.name, .bcryptHash(hash))
            }
        }, tokenSecret: config.web.tokenSecret)
    }
}

public struct WebSetupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
