import Config
import Gateway
import XCTest

/// The `media` section as the media engine gets it: every key and its
/// defaults (its errors are in ConfigTests), and the DTLS certificate files.
final class MediaConfigTests: XCTestCase {
    private func load(_ yaml: String) throws -> TielineConfig {
        try ConfigLoader.load(yaml: yaml, file: "/etc/tieline/tieline.yaml", environment: [:])
    }

    func testDefaults() throws {
        let media = try load("sip: { public_address: 192.0.2.7 }").media
        XCTAssertEqual(media.bindAddress, "0.0.0.0")
        XCTAssertEqual(media.publicAddress, "192.0.2.7")
        XCTAssertTrue(media.symmetricRTP)
        XCTAssertFalse(media.inbandDTMF)
        XCTAssertEqual(media.rtcpIntervalSeconds, 5)
        XCTAssertEqual(media.consentTimeoutSeconds, 30)
        XCTAssertEqual(media.opus, MediaConfig.OpusSettings())
        XCTAssertNil(media.dtlsCertificate)
        let engine = try media.engineConfiguration()
        XCTAssertEqual(engine.session.opus.complexity, 5)
        XCTAssertTrue(engine.session.opus.inbandFEC)
        XCTAssertEqual(engine.portRange, 20000...29999)
    }

    func testEveryKey() throws {
        let media = try load("""
            media:
              rtp_ports: "30000-30999"
              bind_address: 10.0.0.5
              public_address: 203.0.113.9
              symmetric_rtp: false
              inband_dtmf: true
              rtcp_interval_s: 2
              consent_timeout_s: 15
              opus: { complexity: 9, fec: false, dtx: true, packet_loss_percent: 12 }
              dtls_certificate: certs/dtls.crt
              dtls_private_key: certs/dtls.key
            """).media
        XCTAssertEqual(media.bindAddress, "10.0.0.5")
        XCTAssertFalse(media.symmetricRTP)
        XCTAssertTrue(media.inbandDTMF)
        XCTAssertEqual(media.dtlsCertificate, "/etc/tieline/certs/dtls.crt", "relative to the file")
        XCTAssertEqual(media.dtlsPrivateKey, "/etc/tieline/certs/dtls.key")
        let engine = try media.engineConfiguration()
        XCTAssertEqual(engine.bindHost, "10.0.0.5")
        XCTAssertEqual(engine.announcedAddress, "203.0.113.9")
        XCTAssertEqual(engine.portRange, 30000...30999)
        XCTAssertFalse(engine.session.symmetricRTP)
        XCTAssertTrue(engine.session.detectInbandDTMF)
        XCTAssertEqual(engine.session.rtcpInterval, 2)
        XCTAssertEqual(engine.session.consentTimeout, 15)
        XCTAssertEqual(engine.session.opus.complexity, 9)
        XCTAssertFalse(engine.session.opus.inbandFEC)
        XCTAssertTrue(engine.session.opus.dtx)
        XCTAssertEqual(engine.session.opus.packetLossPercent, 12)
    }

    func testCertificateFilesAreLoadedOrRefusedWithTheirName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-dtls-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("dtls.crt").path
        let key = directory.appendingPathComponent("dtls.key").path
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=tieline-test", "-keyout", key, "-out", certificate])
        var media = MediaConfig(rtpPorts: 20000...20009, publicAddress: "127.0.0.1")
        media.dtlsCertificate = certificate
        media.dtlsPrivateKey = key
        let loaded = try media.loadDTLSCertificate()
        // The fingerprint is the one openssl computes for the file.
        let printed = try openssl(["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
        XCTAssertEqual(printed.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
                       loaded.fingerprintText)

        media.dtlsPrivateKey = directory.appendingPathComponent("missing.key").path
        XCTAssertThrowsError(try media.loadDTLSCertificate()) { error in
            XCTAssertTrue("\(error)".contains("missing.key"), "\(error)")
        }
    }

    @discardableResult
    private func openssl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl \(arguments.joined(separator: " "))")
        return String(decoding: data, as: UTF8.self)
    }

    /// The music on hold is read when the engine is configured, so a
    /// missing or broken file stops the start (and `tieline check`) with
    /// the key's name, not the first held call.
    func testHoldMusicFileIsReadAtStartAndAMissingOneIsAnError() throws {
        XCTAssertNil(try load("media: { hold_music: tone }").media.holdMusic, "tone is the built-in")
        let media = try load("media: { hold_music: sounds/none.wav }").media
        XCTAssertEqual(media.holdMusic, "/etc/tieline/sounds/none.wav", "relative to the file")
        XCTAssertThrowsError(try media.engineConfiguration()) { error in
            XCTAssertTrue("\(error)".contains("media.hold_music"), "\(error)")
        }
    }
}
