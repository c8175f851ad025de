/// Host names, IP literals and `host:port` text as they appear in the
/// configuration. Only syntax: nothing here resolves names.
enum HostSyntax {
    /// The host with IPv6 brackets removed, if it is an IP address or a
    /// DNS host name (RFC 1123 labels); nil otherwise.
    static func host(_ text: String) -> String? {
        var host = Substring(text)
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
            return IPLiteral.parse(String(host))?.family == .ipv6 ? String(host) : nil
        }
        if IPLiteral.isAddress(String(host)) { return String(host) }
        return isHostName(host) ? String(host) : nil
    }

    static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        // A trailing dot (fully qualified) is allowed; an empty label elsewhere is not.
        let name = text.hasSuffix(".") ? text.dropLast() : text
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        // All-numeric names like 300.1.2.3 are mistyped addresses, not hosts.
        if labels.last?.allSatisfy({ $0.isASCII && $0.isNumber }) ?? true { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `host:port` with brackets around an IPv6 host.
    static func join(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    enum SplitError: Error, Equatable {
        case badHost
        case badPort
        case unbracketedIPv6
    }

    /// Splits `host:port`, `[v6]:port`, `host` or `[v6]`; the port is nil when absent.
    static func split(_ text: String) -> Result<(host: String, port: Int?), SplitError> {
        var hostText = Substring(text)
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.badHost) }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return .failure(.badHost) }
                portText = rest.dropFirst()
            }
            guard IPLiteral.parse(String(hostText))?.family == .ipv6 else { return .failure(.badHost) }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons > 1 { return .failure(.unbracketedIPv6) }
            if colons == 1, let colon = text.firstIndex(of: ":") {
                hostText = text[..<colon]
                portText = text[text.index(after: colon)...]
            }
            guard HostSyntax.host(String(hostText)) != nil else { return .failure(.badHost) }
        }
        guard let portText else { return .success((String(hostText), nil)) }
        guard let port = parsePort(portText) else { return .failure(.badPort) }
        return .success((String(hostText), port))
    }

    /// A decimal port in 1...65535.
    static func parsePort(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(text), (1...65535).contains(port) else { return nil }
        return port
    }
}
