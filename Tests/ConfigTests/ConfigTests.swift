import XCTest
@testable import Config

/// What a valid configuration turns into: the shipped file, defaults, paths.
final class ConfigTests: XCTestCase {
    func testShippedConfigLoads() throws {
        let config = try ConfigLoader.load(path: shippedConfigPath, environment: [:])
        let repository = URL(fileURLWithPath: shippedConfigPath).deletingLastPathComponent()
            .deletingLastPathComponent().path

        XCTAssertEqual(config.file, shippedConfigPath)
        XCTAssertEqual(config.logLevel, .info)
        XCTAssertEqual(config.dataDirectory, repository + "/data")
        XCTAssertEqual(config.dialplan, repository + "/dialplans/default.lua")
        XCTAssertEqual(config.records.backend, .sqlite(path: repository + "/data/records.sqlite"))

        XCTAssertEqual(config.sip.listeners.map(\.transport), [.udp, .tcp])
        XCTAssertEqual(config.sip.listeners.map(\.address), ["0.0.0.0:5060", "0.0.0.0:5060"])
        XCTAssertEqual(config.sip.publicAddress, "127.0.0.1")
        XCTAssertEqual(config.sip.timers, SIPConfig.Timers())
        XCTAssertEqual(config.sip.inviteTimeout, .seconds(60))
        XCTAssertEqual(config.media.rtpPorts, 20000...29999)

        XCTAssertEqual(config.users, [UserConfig(name: "alice", credential: .password("changeme"), extension: "1001")])
        XCTAssertEqual(config.routing.homeCountry, "1")
        XCTAssertEqual(config.routing.instructionLimit, 1_000_000)
        let carrier = try XCTUnwrap(config.trunk(named: "carrier"))
        XCTAssertEqual(carrier.address, "127.0.0.1")
        XCTAssertEqual(carrier.port, 5070)
        XCTAssertEqual(carrier.transport, .udp)
        XCTAssertNil(carrier.username, "an empty ${TRUNK_USER:-} means no credentials")
        XCTAssertNil(carrier.password)
        XCTAssertFalse(carrier.register)
        XCTAssertTrue(carrier.allowsSource("127.0.0.1"))
        XCTAssertFalse(carrier.allowsSource("192.0.2.1"))
        XCTAssertEqual(carrier.codecs, [.pcmu, .pcma, .g722])
    }

    func testShippedConfigTakesSecretsFromEnvironment() throws {
        let config = try ConfigLoader.load(path: shippedConfigPath, environment: [
            "TIELINE_ALICE_PASSWORD": "correct horse", "TRUNK_USER": "4930123", "TRUNK_PASSWORD": "pw",
        ])
        XCTAssertEqual(config.user(named: "alice")?.credential, .password("correct horse"))
        XCTAssertEqual(config.trunks[0].username, "4930123")
        XCTAssertEqual(config.trunks[0].authUsername, "4930123")
        XCTAssertEqual(config.trunks[0].password, "pw")
    }

    func testEmptyFileGivesDefaults() throws {
        let config = try loadConfig("")
        XCTAssertEqual(config.logLevel, .info)
        XCTAssertEqual(config.dataDirectory, "/etc/tieline/data")
        XCTAssertEqual(config.dialplan, "/etc/tieline/dialplans/default.lua")
        XCTAssertEqual(config.sip.listeners.map(\.address), ["0.0.0.0:5060", "0.0.0.0:5060"])
        XCTAssertEqual(config.sip.publicAddress, "127.0.0.1")
        XCTAssertEqual(config.sip.userAgent, "Tieline")
        XCTAssertEqual(config.media, MediaConfig(rtpPorts: 20000...29999, publicAddress: "127.0.0.1"))
        XCTAssertEqual(config.records.backend, .sqlite(path: "/etc/tieline/data/records.sqlite"))
        XCTAssertEqual(config.users, [])
        XCTAssertEqual(config.trunks, [])
        // Keys present with no value are the same as absent ones.
        XCTAssertEqual(try loadConfig("sip:\nmedia: ~\nusers:\ntrunks: null\n"), config)
    }

    func testListenersAndPublicAddress() throws {
        let config = try loadConfig("""
            sip:
              listen:
                - { transport: tls, address: "[::1]:5062", certificate: certs/sip.crt, private_key: /keys/sip.key }
                - { transport: udp, address: "192.0.2.10" }
                - { transport: tcp, address: "localhost:5080" }
                - { transport: TLS, certificate: c.pem, private_key: k.pem }
              timers: { t1_ms: 250 }
            """)
        let listeners = config.sip.listeners
        XCTAssertEqual(listeners[0], SIPConfig.Listener(transport: .tls, host: "::1", port: 5062,
                                                        certificate: "/etc/tieline/certs/sip.crt",
                                                        privateKey: "/keys/sip.key"))
        XCTAssertEqual(listeners[0].address, "[::1]:5062")
        XCTAssertEqual(listeners[1].address, "192.0.2.10:5060")
        XCTAssertEqual(listeners[2].address, "localhost:5080")
        XCTAssertEqual(listeners[3].address, "0.0.0.0:5061", "transport names ignore case; tls defaults to 5061")
        XCTAssertEqual(config.sip.publicAddress, "::1", "defaults to the first listener's host")
        XCTAssertEqual(config.media.publicAddress, "::1", "media follows sip")
        XCTAssertEqual(config.sip.timers, SIPConfig.Timers(t1: .milliseconds(250)))

        let explicit = try loadConfig("""
            sip: { public_address: "[2001:db8::5]" }
            media: { public_address: media.example.net, rtp_ports: 40000 - 40001 }
            """)
        XCTAssertEqual(explicit.sip.publicAddress, "2001:db8::5")
        XCTAssertEqual(explicit.media, MediaConfig(rtpPorts: 40000...40001, publicAddress: "media.example.net"))
    }

    func testRegisteringTrunkWithDigestAuth() throws {
        let config = try loadConfig("""
            trunks:
              - name: sipgate
                address: sip.example.net
                transport: tls
                username: "4930123"
                password: "${SIPGATE_PASSWORD}"
                auth_username: "auth-4930123"
                realm: example.net
                register: true
                register_expires_s: 600
                allowed_sources: ["192.0.2.0/24", "2001:db8::/32"]
                verify_tls: false
                codecs: [g722, pcma]
                response_timeout_ms: 1500
                options_interval_s: 20
                dtmf: info
                asserted_identity: true
                session_expires_s: 600
                media_encryption: required
              - { name: pbx, address: "[2001:db8::9]", session_expires_s: 0 }
            """, environment: ["SIPGATE_PASSWORD": "s3cret"])
        let sipgate = config.trunks[0]
        XCTAssertEqual(sipgate.port, 5061, "tls trunks default to 5061")
        XCTAssertEqual(sipgate.username, "4930123")
        XCTAssertEqual(sipgate.password, "s3cret")
        XCTAssertEqual(sipgate.authUsername, "auth-4930123")
        XCTAssertEqual(sipgate.realm, "example.net")
        XCTAssertEqual(sipgate.fromDomain, "sip.example.net")
        XCTAssertTrue(sipgate.register)
        XCTAssertEqual(sipgate.registerExpiresSeconds, 600)
        XCTAssertFalse(sipgate.verifyTLS)
        XCTAssertEqual(sipgate.codecs, [.g722, .pcma])
        XCTAssertEqual(sipgate.responseTimeout, .milliseconds(1500))
        XCTAssertEqual(config.trunks[1].responseTimeout, .seconds(3), "3 s unless given, like Kamailio's fr_timer")
        XCTAssertEqual(sipgate.optionsInterval, .seconds(20))
        XCTAssertEqual(config.trunks[1].optionsInterval, .zero, "no OPTIONS pings unless asked")
        XCTAssertEqual(sipgate.dtmf, .info)
        XCTAssertEqual(config.trunks[1].dtmf, .auto)
        XCTAssertTrue(sipgate.assertedIdentity)
        XCTAssertFalse(config.trunks[1].assertedIdentity, "no P-Asserted-Identity unless the trunk is trusted")
        XCTAssertEqual(sipgate.sessionExpiresSeconds, 600)
        XCTAssertEqual(config.trunks[1].sessionExpiresSeconds, 0, "0 turns the session timer off")
        XCTAssertEqual(sipgate.mediaEncryption, .required)
        XCTAssertEqual(config.trunks[1].mediaEncryption, .off, "plain RTP unless asked")
        XCTAssertTrue(sipgate.allowsSource("192.0.2.77"))
        XCTAssertTrue(sipgate.allowsSource("2001:db8:1::1"))
        XCTAssertFalse(sipgate.allowsSource("198.51.100.1"))

        let pbx = config.trunks[1]
        XCTAssertEqual(pbx.address, "2001:db8::9")
        XCTAssertEqual(pbx.port, 5060)
        XCTAssertEqual(pbx.transport, .udp)
        XCTAssertEqual(pbx.allowedSources.map(\.description), ["2001:db8::9"], "an IP trunk trusts its own address")
        XCTAssertTrue(pbx.verifyTLS)

        let named = try loadConfig("trunks: [{ name: t, address: pbx.example.net }]")
        XCTAssertEqual(named.trunks[0].allowedSources, [], "a named trunk trusts no source until listed")
    }

    func testUsersAndRecords() throws {
        let config = try loadConfig("""
            data_directory: /var/lib/tieline
            users:
              - { name: bob, password_hash: "$2b$10$abcdefghijklmnopqrstuvAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
            records: { path: ../calls.db }
            log_level: DEBUG
            """)
        XCTAssertEqual(config.users, [UserConfig(name: "bob", credential: .passwordHash("$2b$10$abcdefghijklmnopqrstuvAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))])
        XCTAssertEqual(config.records.backend, .sqlite(path: "/var/lib/calls.db"))
        XCTAssertEqual(config.logLevel, .debug)

        let postgres = try loadConfig("records: { backend: postgres, postgres_url: \"postgres://app@db/calls\", instance: gw-2 }")
        XCTAssertEqual(postgres.records.backend, .postgres(url: "postgres://app@db/calls"))
        XCTAssertEqual(postgres.records.instanceName, "gw-2")
        XCTAssertEqual(try loadConfig("records: { backend: off }").records.backend, .off)
        XCTAssertThrowsError(try loadConfig("records: { instance: \"two words\" }"))
    }

    func testExamplesInTheDocumentationLoad() throws {
        let docs = URL(fileURLWithPath: shippedConfigPath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst()
            .map { $0.components(separatedBy: "```")[0] }
        XCTAssertGreaterThanOrEqual(blocks.count, 5)
        let environment = ["TIELINE_ALICE_PASSWORD": "a", "TRUNK_USER": "u", "TRUNK_PASSWORD": "p",
                           "CARRIER_PASSWORD": "c", "PGPASSWORD": "pg"]
        for block in blocks {
            XCTAssertNoThrow(try loadConfig(block, environment: environment), block)
        }
    }

    func testLoadFromPathResolvesAgainstTheFile() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("gw.yaml")
        try "dialplan: plans/./main.lua\n".write(to: file, atomically: true, encoding: .utf8)

        let config = try ConfigLoader.load(path: file.path, environment: [:])
        XCTAssertEqual(config.dialplan, directory.path + "/plans/main.lua")

        XCTAssertThrowsError(try ConfigLoader.load(path: directory.path + "/missing.yaml", environment: [:])) { error in
            XCTAssertEqual("\(error)", directory.path + "/missing.yaml: cannot read the configuration: no such file")
        }
        XCTAssertThrowsError(try ConfigLoader.load(path: directory.path, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("it is a directory"))
        }
        XCTAssertThrowsError(try ConfigLoader.load(path: "/dev/zero", environment: [:])) { error in
            XCTAssertEqual("\(error)", "/dev/zero: the configuration is larger than 1048576 bytes")
        }
        try Data([0x61, 0x3a, 0x20, 0x0a, 0x62, 0x3a, 0xff, 0x0a]).write(to: file)
        XCTAssertThrowsError(try ConfigLoader.load(path: file.path, environment: [:])) { error in
            XCTAssertEqual((error as? ConfigError)?.line, 2)
            XCTAssertTrue("\(error)".contains("not valid UTF-8"))
        }
    }
}

// MARK: - Helpers shared by the Config*Tests files

/// The shipped configuration, found from this file so the test runs from any directory.
let shippedConfigPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // GatewayTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // repository
    .appendingPathComponent("config/tieline.yaml").path

/// Loads text as if it were /etc/tieline/tieline.yaml, with only the given environment.
func loadConfig(_ yaml: String, environment: [String: String] = [:],
                file: String = "/etc/tieline/tieline.yaml") throws(ConfigError) -> TielineConfig {
    try ConfigLoader.load(yaml: yaml, file: file, environment: environment)
}

/// The error loading `yaml` (named test.yaml) gives; fails the test if it loads.
func configError(_ yaml: String, environment: [String: String] = [:],
                 file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
    do {
        let config = try loadConfig(yaml, environment: environment, file: "test.yaml")
        XCTFail("expected an error, loaded \(config)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// Checks the error's position and that its message contains `message`.
func assertConfigError(_ yaml: String, environment: [String: String] = [:],
                       line expectedLine: Int, column expectedColumn: Int? = nil, _ message: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    guard let error = configError(yaml, environment: environment, file: file, line: line) else { return }
    XCTAssertEqual(error.line, expectedLine, "line of: \(error)", file: file, line: line)
    if let expectedColumn {
        XCTAssertEqual(error.column, expectedColumn, "column of: \(error)", file: file, line: line)
    }
    XCTAssertTrue(error.message.contains(message), "\(error) does not contain \(message)", file: file, line: line)
}
