import Yams

// The `users` section, and what users and trunks share: names and list labels.
extension ConfigLoader {
    private static let userKeys = ["name", "password", "password_hash", "extension", "international"]

    static func decodeUsers(_ items: [Node], context: ConfigContext) throws(ConfigError) -> [UserConfig] {
        var users: [UserConfig] = []
        var firstLines: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let reader = try MappingReader(item, place: "in \(itemLabel(item, kind: "user", list: "users", index: index))",
                                           keys: userKeys, context: context)
            let name = try validName(reader, kind: "user", context: context)
            if let firstLine = firstLines[name] {
                throw context.error(reader.mark(of: "name"), "duplicate user '\(name)' (first given on line \(firstLine))")
            }
            firstLines[name] = reader.mark(of: "name")?.line ?? 0

            let password = try reader.string("password", secret: true)
            let hash = try reader.string("password_hash", secret: true)
            let credential: UserConfig.Credential
            switch (password, hash) {
            case let (password?, nil): credential = .password(password)
            case let (nil, hash?):
                guard ["$2a$", "$2b$", "$2y$"].contains(where: { hash.hasPrefix($0) }), hash.count == 60 else {
                    throw context.error(reader.mark(of: "password_hash"), "password_hash of user '\(name)' is not a "
                        + "bcrypt hash ($2b$...); make one with `tieline passwd`")
                }
                credential = .passwordHash(hash)
            case (.some, .some):
                throw context.error(reader.mark(of: "password_hash"),
                                    "user '\(name)' has both password and password_hash; keep one")
            case (nil, nil):
                throw context.error(reader.mark, "user '\(name)' needs a password or password_hash "
                    + "(an empty value, as from ${VAR:-}, counts as none)")
            }
            let number = try reader.string("extension")
            if let number, number.count > 32 || !number.allSatisfy({ $0.isASCII && $0.isNumber }) {
                throw context.error(reader.mark(of: "extension"), "extension of user '\(name)' must be up to 32 digits, "
                    + "got \(ConfigContext.quoted(number))")
            }
            if let number, let owner = users.first(where: { $0.extension == number }) {
                throw context.error(reader.mark(of: "extension"), "extension \(number) is already user '\(owner.name)'s")
            }
            users.append(UserConfig(name: name, credential: credential, extension: number,
                                    international: try reader.bool("international") ?? false))
        }
        return users
    }

    /// "trunk 'carrier'" when the item has a plain literal name, else "trunks[2]":
    /// used before the item is checked, so it must not throw or expand variables.
    static func itemLabel(_ item: Node, kind: String, list: String, index: Int) -> String {
        if case .mapping(let mapping) = item, case .scalar(let name)? = mapping["name"],
           !name.string.isEmpty, !name.string.contains("$"), name.string.count <= 64 {
            return "\(kind) \(ConfigContext.quoted(name.string))"
        }
        return "\(list)[\(index)]"
    }

    /// Names appear in logs, call records and dialplan scripts, so they are
    /// kept to characters that need no quoting anywhere.
    static func validName(_ reader: MappingReader, kind: String, context: ConfigContext) throws(ConfigError) -> String {
        let name = try reader.requiredString("name")
        let allowed = name.count <= 64 && name.allSatisfy {
            $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0))
        }
        guard allowed else {
            throw context.error(reader.mark(of: "name"), "\(kind) name must be up to 64 letters, digits, "
                + "'.', '_', '+' or '-', got \(ConfigContext.quoted(name))")
        }
        return name
    }
}
