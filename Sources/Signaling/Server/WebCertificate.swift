import Crypto
import Foundation
import SwiftASN1
import X509

/// The HTTPS certificate when the operator configured none: self-signed,
/// ECDSA P-256, for localhost, 127.0.0.1, ::1 and the configured names,
/// made with swift-certificates (no openssl command) and kept on disk so
/// the fingerprint a person accepted stays the same across restarts.
public enum WebCertificate {
    public struct Made: Sendable {
        /// SHA-256 of the DER certificate, as `AB:CD:...`.
        public var fingerprint: String
        public var created: Bool
        public init(fingerprint: String, created: Bool) {
            self.fingerprint = fingerprint
            self.created = created
        }
    }

    /// Uses the files when both exist, else makes new ones there.
    public static func ensure(certificatePath: String, keyPath: String, names: [String]) throws -> Made {
        let files = FileManager.default
        if files.fileExists(atPath: certificatePath), files.fileExists(atPath: keyPath) {
            return Made(fingerprint: try fingerprint(ofPEMFile: certificatePath), created: false)
        }
        return Made(fingerprint: try make(certificatePath: certificatePath, keyPath: keyPath, names: names), created: true)
    }

    /// Makes and writes a certificate and key (the key readable by its owner only).
    @discardableResult
    public static func make(certificatePath: String, keyPath: String, names: [String]) throws -> String {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Tieline")
            CommonName(names.first(where: { !isIPAddress($0) }) ?? "localhost")
        }
        var alternatives: [GeneralName] = []
        for name in Set(["localhost", "127.0.0.1", "::1"] + names).sorted() {
            if let bytes = ipBytes(name) {
                alternatives.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
            } else {
                alternatives.append(.dnsName(name))
            }
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(825 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        let directory = (certificatePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let keyDirectory = (keyPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: keyDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: keyPath, contents: Data(key.pemRepresentation.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw WebCertificateError("cannot write \(keyPath)")
        }
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        return try fingerprint(of: certificate)
    }

    public static func fingerprint(ofPEMFile path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try fingerprint(of: Certificate(pemEncoded: text))
    }

    static func fingerprint(of certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    private static func isIPAddress(_ name: String) -> Bool { ipBytes(name) != nil }

    private static func ipBytes(_ name: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

public struct WebCertificateError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
