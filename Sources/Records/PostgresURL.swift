import Foundation

/// `postgres://user:password@host:port/database?sslmode=disable`, taken
/// apart. Kept free of PostgresNIO so that it is tested with the rest.
/// The password never appears in `description` or in any error.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// libpq's sslmode values. The default, like libpq's, is `prefer`.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    public init(_ url: String) throws(RecordStoreError) {
        let redacted = Self.redact(url)
        func invalid(_ reason: String) -> RecordStoreError { .invalidURL(url: redacted, reason: reason) }

        guard let schemeEnd = url.range(of: "://"),
              ["postgres", "postgresql"].contains(url[..<schemeEnd.lowerBound].lowercased()) else {
            throw invalid("it must start with postgres:// or postgresql://")
        }
        let rest = url[schemeEnd.upperBound...]

        // The user info runs to the last "@" (so an unencoded "@", "/" or "?"
        // in a password still works); then host, port, database, query.
        guard let at = rest.lastIndex(of: "@") else { throw invalid("it names no user (user@host)") }
        let userInfo = rest[..<at]
        var location = rest[rest.index(after: at)...]
        var query: Substring = ""
        if let mark = location.firstIndex(of: "?") {
            query = location[location.index(after: mark)...]
            location = location[..<mark]
        }
        let userPart = userInfo.firstIndex(of: ":").map { userInfo[..<$0] } ?? userInfo
        guard let user = userPart.removingPercentEncoding, !user.isEmpty else { throw invalid("the user is empty") }
        self.user = user
        if let colon = userInfo.firstIndex(of: ":") {
            // A "%" that starts no escape ("50%off") is taken as written.
            let raw = userInfo[userInfo.index(after: colon)...]
            password = raw.removingPercentEncoding ?? String(raw)
        }

        let hostPort = location.firstIndex(of: "/").map { location[..<$0] } ?? location
        let path = location.firstIndex(of: "/").map { location[location.index(after: $0)...] } ?? ""
        (host, port) = try Self.hostAndPort(hostPort, invalid)
        guard let database = path.removingPercentEncoding, !database.contains("/") else {
            throw invalid("the database name is not valid")
        }
        // libpq's default: a database named after the user.
        self.database = database.isEmpty ? user : database

        sslMode = .prefer
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            let value = pair.count == 2 ? String(pair[1]) : ""
            switch pair[0] {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw invalid("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            default:
                // A misspelt option silently ignored could mean an unencrypted connection.
                throw invalid("unknown parameter \(pair[0]) (only sslmode is understood)")
            }
        }
    }

    private static func hostAndPort(_ text: Substring,
                                    _ invalid: (String) -> RecordStoreError) throws(RecordStoreError) -> (String, Int) {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            // An IPv6 address: [::1]:5432
            guard let close = text.firstIndex(of: "]") else { throw invalid("the IPv6 address has no closing ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        guard let portText else { return (String(host), 5432) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw invalid("the port must be a number from 1 to 65535")
        }
        return (String(host), port)
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let credentials = password == nil ? user : "\(user):***"
        return "postgres://\(credentials)@\(shownHost):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    public var debugDescription: String { "PostgresURL(\(description))" }

    /// `url` with anything between "://user:" and the last "@" replaced by
    /// ***; used for URLs that may not even parse. A URL without "@" has no
    /// password to hide.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "(not a URL)" }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(rest[at...])
    }
}

extension PostgresURL: CustomReflectable {
    // dump() walks mirrors, which would list the password.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": description], displayStyle: .struct)
    }
}
