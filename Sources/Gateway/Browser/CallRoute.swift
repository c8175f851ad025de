import Foundation

/// Where a call goes. The Lua dialplan will decide this; until then the
/// configured `routing` does: dialled numbers go to a trunk, names to users.
enum CallRoute: Equatable {
    case trunk(name: String, number: String)
    case user(String)
    case refuse(code: Int, reason: String)
}

extension Gateway {
    /// A browser user dialled `to`.
    func routeFromBrowser(to: String) -> CallRoute {
        var target = to
        if target.lowercased().hasPrefix("sip:") || target.lowercased().hasPrefix("tel:") {
            target = String(target.dropFirst(4).prefix { $0 != "@" && $0 != ";" })
        }
        let digits = target.filter { !" -().".contains($0) }
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || "+*#".contains($0)) }),
           digits.dropFirst().allSatisfy({ $0 != "+" }) {
            guard let trunk = config.routing.outboundTrunk ?? config.trunks.first?.name else {
                return .refuse(code: 503, reason: "no trunk is configured")
            }
            return .trunk(name: trunk, number: digits)
        }
        if config.user(named: target) != nil || browsers.loggedInUsers.contains(target) {
            return .refuse(code: 501, reason: "calls between browser users are not supported yet")
        }
        return .refuse(code: 404, reason: "no route to '\(to)'")
    }

    /// A trunk's call to `number` (the request URI's user part).
    func routeFromTrunk(number: String) -> CallRoute {
        if config.user(named: number) != nil || browsers.loggedInUsers.contains(number) { return .user(number) }
        if let user = config.routing.inboundUser { return .user(user) }
        return .refuse(code: 404, reason: "Not Found")
    }
}
