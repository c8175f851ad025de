import Crypto
import Foundation

/// Signed login tokens for applications whose own backend logs users in:
/// `v1.<payload>.<signature>`, both base64url without padding; the payload
/// is JSON `{"user":"alice","exp":1767225600}` (expiry in Unix seconds) and
/// the signature HMAC-SHA256 over `v1.<payload>` with the configured secret.
/// A backend makes one with a few lines in any language (docs/signaling.md).
public struct LoginTokenSigner: Sendable {
    private let key: SymmetricKey

    /// Secrets shorter than 16 bytes are refused by the configuration loader.
    public init(secret: String) { key = SymmetricKey(data: Data(secret.utf8)) }

    public func sign(user: String, expires: Date) -> String {
        let payload = "{\"user\":\(JSONObjectWriter.quoted(user)),\"exp\":\(Int(expires.timeIntervalSince1970))}"
        let signed = "v1." + Base64URL.encode(Array(payload.utf8))
        return signed + "." + Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: key)))
    }

    /// The user a valid, unexpired token names, or why it is refused (said
    /// to the log only: the client just hears that the login failed).
    public func verify(_ token: String, now: Date = Date()) -> Result<String, LoginRefusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 2048, parts.count == 3, parts[0] == "v1",
              let signature = Base64URL.decode(parts[2]) else {
            return .failure(.malformedToken)
        }
        // swift-crypto compares in constant time.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data("v1.\(parts[1])".utf8), using: key) else {
            return .failure(.badSignature)
        }
        guard let payload = Base64URL.decode(parts[1]),
              case .object(let claims)? = JSONValue.parse(String(decoding: payload, as: UTF8.self)),
              let user = claims["user"]?.string, UserName.isValid(user),
              case .number(let expiry)? = claims["exp"] else {
            return .failure(.malformedToken)
        }
        guard expiry > now.timeIntervalSince1970 else { return .failure(.expiredToken) }
        return .success(user)
    }
}

/// Why a login was refused, for the log.
public enum LoginRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownUser, wrongPassword, malformedToken, badSignature, expiredToken, tokensDisabled, throttled

    public var description: String {
        switch self {
        case .unknownUser: "unknown user"
        case .wrongPassword: "wrong password"
        case .malformedToken: "malformed token"
        case .badSignature: "token signature does not match"
        case .expiredToken: "token expired"
        case .tokensDisabled: "token logins are not configured"
        case .throttled: "too many failed logins from this address"
        }
    }
}

/// User names as the configuration allows them: they appear in logs, SIP
/// URIs and call records unquoted.
public enum UserName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) }
    }
}

enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            return nil
        }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
