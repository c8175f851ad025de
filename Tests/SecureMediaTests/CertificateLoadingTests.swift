import Foundation
import SecureMedia
import XCTest

/// Certificates from PEM text, as made by the openssl command: ECDSA P-256
/// is taken, anything else is refused with a reason.
final class CertificateLoadingTests: XCTestCase {
    private func make(_ keyArguments: [String]) throws -> (certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-pem-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("c.pem")
        let key = directory.appendingPathComponent("k.pem")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509"] + keyArguments + ["-nodes", "-days", "2", "-subj", "/CN=t",
                                                             "-keyout", key.path, "-out", certificate.path]
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return (try String(contentsOf: certificate, encoding: .utf8), try String(contentsOf: key, encoding: .utf8))
    }

    func testAnECDSAP256CertificateLoadsAndHandshakes() throws {
        let pem = try make(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let loaded = try DTLSCertificate.load(certificatePEM: pem.certificate, privateKeyPEM: pem.key)
        XCTAssertEqual(loaded.fingerprint.count, 32)
        // It works as a DTLS server certificate against a generated client.
        let client = try DTLSCertificate.generate()
        let server = try DTLSEndpoint(role: .server, certificate: loaded, remoteFingerprint: client.fingerprint)
        let browser = try DTLSEndpoint(role: .client, certificate: client, remoteFingerprint: loaded.fingerprint)
        var toServer = browser.start()
        for _ in 0..<6 where !toServer.isEmpty {
            let toClient = toServer.flatMap { server.receive($0) }
            toServer = toClient.flatMap { browser.receive($0) }
        }
        XCTAssertEqual(server.state, .connected(.aeadAes128Gcm))
        XCTAssertEqual(browser.state, .connected(.aeadAes128Gcm))
    }

    func testOtherKeysAndMismatchesAreRefused() throws {
        let rsa = try make(["-newkey", "rsa:2048"])
        XCTAssertThrowsError(try DTLSCertificate.load(certificatePEM: rsa.certificate, privateKeyPEM: rsa.key)) {
            XCTAssertTrue("\($0)".contains("P-256"), "\($0)")
        }
        let p384 = try make(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"])
        XCTAssertThrowsError(try DTLSCertificate.load(certificatePEM: p384.certificate, privateKeyPEM: p384.key))
        let one = try make(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let other = try make(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        XCTAssertThrowsError(try DTLSCertificate.load(certificatePEM: one.certificate, privateKeyPEM: other.key)) {
            XCTAssertTrue("\($0)".contains("does not belong"), "\($0)")
        }
        XCTAssertThrowsError(try DTLSCertificate.load(certificatePEM: "junk", privateKeyPEM: one.key))
        XCTAssertThrowsError(try DTLSCertificate.load(certificatePEM: one.certificate, privateKeyPEM: ""))
    }
}
