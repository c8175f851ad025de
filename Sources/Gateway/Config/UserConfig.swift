/// A person who logs in from a browser and can make and take calls.
///
/// Printing, `dump` and string interpolation show `<redacted>` in place of
/// the credential, so a user can be logged without leaking it.
public struct UserConfig: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// The password itself, usually taken from the environment.
        case password(String)
        /// A stored hash of the password; its format belongs to the login code.
        case passwordHash(String)
    }

    public var name: String
    public var credential: Credential

    public init(name: String, credential: Credential) {
        self.name = name
        self.credential = credential
    }
}

extension UserConfig.Credential: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        switch self {
        case .password: return "password(<redacted>)"
        case .passwordHash: return "passwordHash(<redacted>)"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .enum) }
}

extension UserConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "UserConfig(name: \(name), credential: \(credential))" }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "credential": credential.description],
               displayStyle: .struct)
    }
}
