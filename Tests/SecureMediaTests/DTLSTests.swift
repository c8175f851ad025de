import SecureMedia
import XCTest

/// Two DTLS endpoints over the real OpenSSL, handing datagrams to each other.
final class DTLSTests: XCTestCase {
    /// Runs the handshake to completion (or failure), at most 20 round trips.
    func handshake(_ client: DTLSEndpoint, _ server: DTLSEndpoint) {
        var toServer = client.start()
        for _ in 0..<20 {
            var toClient: [[UInt8]] = []
            for datagram in toServer { toClient += server.receive(datagram) }
            toServer = []
            for datagram in toClient { toServer += client.receive(datagram) }
            if toServer.isEmpty && toClient.isEmpty { break }
        }
    }

    func testHandshakeAgreesOnGCMAndBothSidesDeriveMatchingSRTPKeys() throws {
        let clientCertificate = try DTLSCertificate.generate()
        let serverCertificate = try DTLSCertificate.generate()
        let client = try DTLSEndpoint(role: .client, certificate: clientCertificate,
                                      remoteFingerprint: serverCertificate.fingerprint)
        let server = try DTLSEndpoint(role: .server, certificate: serverCertificate,
                                      remoteFingerprint: clientCertificate.fingerprint)
        handshake(client, server)
        XCTAssertEqual(client.state, .connected(.aeadAes128Gcm))
        XCTAssertEqual(server.state, .connected(.aeadAes128Gcm))
        let clientKeys = try XCTUnwrap(client.srtpKeys())
        let serverKeys = try XCTUnwrap(server.srtpKeys())
        XCTAssertEqual(clientKeys.local, serverKeys.remote)
        XCTAssertEqual(clientKeys.remote, serverKeys.local)
        XCTAssertNotEqual(clientKeys.local, clientKeys.remote)

        // And the keys work: the client's packet opens on the server.
        let sender = try SRTPSession(profile: clientKeys.profile, masterKey: clientKeys.local, outbound: true)
        let receiver = try SRTPSession(profile: serverKeys.profile, masterKey: serverKeys.remote, outbound: false)
        let plain: [UInt8] = [0x80, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4] + [UInt8](repeating: 0x55, count: 160)
        var buffer = plain + [UInt8](repeating: 0, count: 64)
        let sent = try buffer.withUnsafeMutableBytes { try sender.protect($0, length: plain.count) }
        let opened = try buffer.withUnsafeMutableBytes { try receiver.unprotect($0, length: sent) }
        XCTAssertEqual(Array(buffer[0..<opened]), plain)
    }

    func testAClientOfferingOnlyAESCMGetsAESCM() throws {
        let a = try DTLSCertificate.generate(), b = try DTLSCertificate.generate()
        let client = try DTLSEndpoint(role: .client, certificate: a, remoteFingerprint: b.fingerprint,
                                      profiles: [.aes128CmSha1_80])
        let server = try DTLSEndpoint(role: .server, certificate: b, remoteFingerprint: a.fingerprint)
        handshake(client, server)
        XCTAssertEqual(server.state, .connected(.aes128CmSha1_80))
    }

    func testACertificateThatDoesNotMatchTheSDPFingerprintFailsTheLeg() throws {
        let clientCertificate = try DTLSCertificate.generate()
        let serverCertificate = try DTLSCertificate.generate()
        let impostor = try DTLSCertificate.generate()
        let client = try DTLSEndpoint(role: .client, certificate: clientCertificate,
                                      remoteFingerprint: serverCertificate.fingerprint)
        // The server expects someone else's certificate.
        let server = try DTLSEndpoint(role: .server, certificate: serverCertificate,
                                      remoteFingerprint: impostor.fingerprint)
        handshake(client, server)
        guard case .failed(let reason) = server.state else {
            return XCTFail("the mismatched certificate was accepted: \(server.state)")
        }
        XCTAssertTrue(reason.contains("fingerprint"), reason)
        XCTAssertNil(server.srtpKeys())
    }

    func testFingerprintTextRoundTrips() throws {
        let certificate = try DTLSCertificate.generate()
        XCTAssertEqual(certificate.fingerprintText.count, 32 * 3 - 1)
        XCTAssertEqual(DTLSCertificate.parseFingerprint(certificate.fingerprintText), certificate.fingerprint)
        XCTAssertEqual(DTLSCertificate.parseFingerprint(certificate.fingerprintText.lowercased()), certificate.fingerprint)
        XCTAssertNil(DTLSCertificate.parseFingerprint("AB:CD"))
    }
}
