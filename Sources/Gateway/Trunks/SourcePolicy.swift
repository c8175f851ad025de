import Config
import SIP

/// The "no open relay" rule: an out-of-dialog request is served only when it
/// comes from a configured trunk's allowed sources or carries valid digest
/// credentials of a configured user. Everyone else gets 403 (or a challenge
/// when they name a user that can authenticate by digest).
struct SourcePolicy: Sendable {
    let trunks: [TrunkConfig]
    /// Users with a plaintext password: the only ones digest can verify.
    let digestUsers: [String: String]
    let realm: String
    let digest = DigestServer()

    init(config: TielineConfig) {
        trunks = config.trunks
        var users: [String: String] = [:]
        for user in config.users {
            if case .password(let password) = user.credential { users[user.name] = password }
        }
        digestUsers = users
        realm = config.sip.publicAddress
    }

    /// The trunk whose allowed sources include this address.
    func trunk(forSource ip: String) -> TrunkConfig? {
        trunks.first { trunk in trunk.allowedSources.contains { $0.contains(ip) } }
    }

    /// The trunk a request comes in through: the one whose registration
    /// contact it is addressed to (a registrar's retarget), when that trunk
    /// allows the source (two accounts at one carrier share its addresses),
    /// else the first whose sources include the address.
    func trunk(for request: SIPRequest, source ip: String) -> TrunkConfig? {
        if let user = request.uri.user,
           let named = trunks.first(where: { $0.register && $0.registrationContactUser == user }),
           named.allowsSource(ip) {
            return named
        }
        return trunk(forSource: ip)
    }

    func authorize(_ request: SIPRequest, source: SIPEndpoint) -> RequestAuthorization {
        if trunk(forSource: source.ipAddress) != nil { return .allow }
        for name in ["Proxy-Authorization", "Authorization"] {
            guard let header = request.headers[name],
                  let credentials = try? DigestCredentials(parsing: header),
                  credentials.realm == realm,
                  let password = digestUsers[credentials.username] else { continue }
            switch digest.verify(credentials: credentials, method: request.method.rawValue,
                                 secret: .password(password), body: request.body) {
            case .valid:
                return .allow
            case .stale:
                return .challenge(statusCode: 407, header: digest.challenge(realm: realm, stale: true))
            case .invalid(let reason):
                return .forbid("bad credentials for \(credentials.username): \(reason)")
            }
        }
        if let user = request.headers.from?.uri.user, digestUsers[user] != nil {
            return .challenge(statusCode: 407, header: digest.challenge(realm: realm))
        }
        return .forbid("\(source.ipAddress) is not a trunk source and did not authenticate")
    }
}
