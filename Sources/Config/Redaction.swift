/// Printable forms of values that can carry secrets.
enum Redaction {
    /// A URL with the password in its user info and its whole query replaced,
    /// since drivers also take `?password=` there:
    /// `postgres://app:s3cret@db/calls?sslmode=require` → `postgres://app:<redacted>@db/calls?<redacted>`.
    static func url(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "<redacted>" }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        var authority = String(afterScheme[..<authorityEnd])
        var rest = String(afterScheme[authorityEnd...])
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let user = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let hidden = userInfo.contains(":") ? "\(user):<redacted>" : String(user)
            authority = hidden + authority[at...]
        }
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            rest = rest[..<query] + "?<redacted>"
        }
        return url[..<schemeEnd.upperBound] + authority + rest
    }
}
