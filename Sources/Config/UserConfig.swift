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
    /// Digits the dialplan also reaches the user by (`user_by_extension`).
    public var `extension`: String?
    /// May call international destinations (the default dialplan's toll-fraud guard).
    public var international: Bool

    public init(name: String, credential: Credential, extension: String? = nil, international: Bool = false) {
        self.name = name
        self.credential = credential
        self.extension = `extension`
        self.international = international
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
    public var description: String {
        "UserConfig(name: \(name), credential: \(credential), extension: \(`extension` ?? "none"), "
            + "international: \(international))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "credential": credential.description,
                                "extension": `extension` as Any, "international": international],
               displayStyle: .struct)
    }
}
