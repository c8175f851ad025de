import HummingbirdBcrypt

/// The users who may log in with a password, and the token signer for the
/// others. Passwords are checked against bcrypt hashes (`tieline passwd`
/// prints one); a plain password from the configuration is hashed once at
/// start so every check costs the same.
public struct UserDirectory: Sendable {
    public enum Secret: Sendable {
        case password(String)
        /// A bcrypt hash, `$2b$12$...`.
        case bcryptHash(String)
    }

    private let hashes: [String: String]
    private let tokens: LoginTokenSigner?
    /// Checked for unknown users too, so timing does not tell who exists.
    private let decoyHash: String

    /// bcrypt cost for hashes made here; 10 is about 60 ms a check on this
    /// class of machine, which also slows guessing.
    public static let cost: UInt8 = 10

    public init(users: [(name: String, secret: Secret)], tokenSecret: String?) {
        var hashes: [String: String] = [:]
        for user in users {
            switch user.secret {
            case .password(let password): hashes[user.name] = Bcrypt.hash(password, cost: Self.cost)
            case .bcryptHash(let hash): hashes[user.name] = hash
            }
        }
        self.hashes = hashes
        tokens = tokenSecret.flatMap { $0.isEmpty ? nil : LoginTokenSigner(secret: $0) }
        decoyHash = Bcrypt.hash("decoy-\(UInt64.random(in: 0...UInt64.max))", cost: Self.cost)
    }

    public var tokensEnabled: Bool { tokens != nil }

    /// The user a login names, or why not. Slow by design (bcrypt): call it off the event loop.
    public func authenticate(_ credentials: LoginCredentials) -> Result<String, LoginRefusal> {
        switch credentials {
        case .password(let user, let password):
            guard let hash = hashes[user] else {
                _ = Bcrypt.verify(password, hash: decoyHash)
                return .failure(.unknownUser)
            }
            return Bcrypt.verify(password, hash: hash) ? .success(user) : .failure(.wrongPassword)
        case .token(let token):
            guard let tokens else { return .failure(.tokensDisabled) }
            return tokens.verify(token)
        }
    }

    /// Whether a configured password is one everybody knows; the gateway
    /// refuses to serve such a user beyond loopback.
    public func hasWellKnownPassword(_ user: String) -> Bool {
        guard let hash = hashes[user] else { return false }
        return Self.wellKnownPasswords.contains { Bcrypt.verify($0, hash: hash) }
    }

    public var userNames: [String] { hashes.keys.sorted() }

    static let wellKnownPasswords = ["changeme", "password", "secret", "admin", "1234", "123456", "tieline"]

    /// A bcrypt hash of a password, for `tieline passwd`.
    public static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }
}
