import Config
import Foundation
import Gateway
import Logging
import Media
import NIOCore
import NIOPosix
import SIP
import XCTest

/// A Tieline gateway in this test process, configured through the real
/// YAML loader, with listeners on free loopback ports.
struct TrunkSpec {
    var name = "carrier"
    var port: Int
    var transport = "udp"
    var username: String? = nil
    var password: String? = nil
    var register = false
    var registerExpires = 3600
    var allowedSources = ["127.0.0.1"]
    var verifyTLS = false
    /// `options_interval_s`: OPTIONS pings, off unless given.
    var optionsInterval: Int? = nil
    /// `asserted_identity`: the trunk gets P-Asserted-Identity.
    var assertedIdentity = false
    /// `media_encryption`: off, optional or required (SDES SRTP); nil: the default (off).
    var mediaEncryption: String? = nil
    /// `codecs`, in order; nil: the default.
    var codecs: [String]? = nil
    /// `dtmf`: rfc4733, info or auto; nil: the default (auto).
    var dtmf: String? = nil
}

final class GatewayFixture: @unchecked Sendable {
    let gateway: Gateway
    let udpPort: Int
    let tcpPort: Int
    let tlsPort: Int?
    let configPath: String
    /// The fixture's own temporary directory: the configuration file and the
    /// data directory (`data/`: call records, the web certificate), removed
    /// when the fixture goes unless TIELINE_KEEP_TEST_FILES is set.
    let directory: URL
    /// The configured `data_directory`; the SQLite records are `records.sqlite` in it.
    let dataDirectory: String
    /// The dialplan the gateway runs (absolute).
    let dialplanPath: String
    /// The gateway's media ports (`media.rtp_ports`).
    let mediaPorts: ClosedRange<Int>
    /// With `browsers: true`: the signaling server and its WSS address.
    private(set) var web: WebSetup.Prepared?
    private(set) var webSocketURL = ""

    /// The repository's `dialplans/default.lua`, the fixture's dialplan unless a test names another.
    static var defaultDialplan: String {
        repositoryRoot.appendingPathComponent("dialplans/default.lua").path
    }

    /// The repository's top directory (this file is Tests/IntegrationTests/Support/GatewayFixture.swift).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// - Parameters:
    ///   - t1Milliseconds: short timers keep tests quick; retransmission logic is unchanged.
    ///   - extraUsers: YAML list items added under `users:` after alice, each
    ///     line indented like `  - { name: bob, password: "..." }`.
    ///   - dialplan: the Lua dialplan's path; nil: the repository's `dialplans/default.lua`.
    ///   - routing: the value of the top-level `routing:` key (YAML flow or
    ///     block text). Home country 49 by default, so national German numbers
    ///     such as 0301234567 become +49301234567 and go to the first trunk.
    ///     Left out when `extraYAML` has its own `routing:` section. Without
    ///     `browsers`, `test_answer: true` is added to a flow mapping.
    ///   - records: the value of `records:`; off unless a test asks (for
    ///     example `{ backend: sqlite }`, which writes `records.sqlite` in this
    ///     fixture's own data directory). Left out when `extraYAML` has `records:`.
    ///   - extraYAML: top-level YAML appended at the end of the configuration.
    ///   - holdMusic: `media.hold_music` (a WAV file); nil: the built-in tone.
    init(trunks: [TrunkSpec], tls: TestCertificate? = nil, t1Milliseconds: Int = 100, t4Milliseconds: Int = 500,
         extraUsers: String = "", browsers: Bool = false, dialplan: String? = nil,
         routing: String = #"{ home_country: "49" }"#, records: String = "{ backend: off }",
         extraYAML: String = "", holdMusic: String? = nil) async throws {
        udpPort = try freeUDPAndTCPPort()
        tcpPort = udpPort
        tlsPort = tls == nil ? nil : try freeUDPAndTCPPort()
        // Media ports differ between fixtures so tests can run side by side.
        let mediaLow = 40000 + 200 * Int.random(in: 0..<50)
        mediaPorts = mediaLow...(mediaLow + 199)
        let httpsPort = freePort(udp: false)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tieline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        dataDirectory = directory.appendingPathComponent("data").path
        dialplanPath = dialplan ?? Self.defaultDialplan
        var yaml = """
        log_level: info
        data_directory: "\(dataDirectory)"
        sip:
          listen:
            - { transport: udp, address: "127.0.0.1:\(udpPort)" }
            - { transport: tcp, address: "127.0.0.1:\(tcpPort)" }

        """
        if let tls, let tlsPort {
            yaml += "    - { transport: tls, address: \"127.0.0.1:\(tlsPort)\", certificate: \"\(tls.certificatePath)\", private_key: \"\(tls.keyPath)\" }\n"
        }
        yaml += """
          public_address: 127.0.0.1
          timers: { t1_ms: \(t1Milliseconds), t2_ms: 4000, t4_ms: \(t4Milliseconds) }
          invite_timeout_s: 30
        media:
          rtp_ports: "\(mediaLow)-\(mediaLow + 199)"
          public_address: 127.0.0.1
          bind_address: 127.0.0.1
        \(holdMusic.map { "  hold_music: \"\($0)\"" } ?? "")
        web:
          https: "127.0.0.1:\(httpsPort)"
          http: off
        users:
          - { name: alice, password: "alice-secret" }
        \(extraUsers)
        trunks:

        """
        for trunk in trunks {
            yaml += """
              - name: \(trunk.name)
                address: 127.0.0.1
                port: \(trunk.port)
                transport: \(trunk.transport)
                register: \(trunk.register)
                register_expires_s: \(trunk.registerExpires)
                allowed_sources: [\(trunk.allowedSources.map { "\"\($0)\"" }.joined(separator: ", "))]
                verify_tls: \(trunk.verifyTLS)

            """
            if let username = trunk.username { yaml += "    username: \(username)\n" }
            if let interval = trunk.optionsInterval { yaml += "    options_interval_s: \(interval)\n" }
            if trunk.assertedIdentity { yaml += "    asserted_identity: true\n" }
            if let encryption = trunk.mediaEncryption { yaml += "    media_encryption: \(encryption)\n" }
            if let codecs = trunk.codecs { yaml += "    codecs: [\(codecs.joined(separator: ", "))]\n" }
            if let dtmf = trunk.dtmf { yaml += "    dtmf: \(dtmf)\n" }
            if let password = trunk.password { yaml += "    password: \(password)\n" }
        }
        yaml += "dialplan: \"\(dialplanPath)\"\n"
        if !Self.hasTopLevelKey("routing", in: extraYAML) {
            // Without browsers (the SIP-only tests) a trunk's call to nobody
            // is answered without media (`test_answer`), for the SIP flows.
            let flow = !browsers && routing.hasPrefix("{") ? "{ test_answer: true, " + routing.dropFirst() : routing
            yaml += "routing: \(flow)\n"
        }
        if !Self.hasTopLevelKey("records", in: extraYAML) { yaml += "records: \(records)\n" }
        if !extraYAML.isEmpty { yaml += extraYAML.hasSuffix("\n") ? extraYAML : extraYAML + "\n" }
        configPath = directory.appendingPathComponent("tieline.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        var logger = Logger(label: "tieline-test")
        logger.logLevel = ProcessInfo.processInfo.environment["TIELINE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        guard browsers else {
            gateway = Gateway(config: config, logger: logger)
            _ = try await gateway.start()
            return
        }
        let media = try MediaEngine(configuration: config.media.engineConfiguration(),
                                    group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        gateway = Gateway(config: config, media: media, logger: logger)
        _ = try await gateway.start()
        let prepared = try WebSetup.prepare(config: config, gateway: gateway, logger: logger)
        let bound = try await prepared.server.start()
        web = prepared
        webSocketURL = "wss://127.0.0.1:\(bound[0].address.port ?? 0)/ws"
    }

    deinit {
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func stop() async {
        await web?.server.stop()
        await gateway.stop()
    }

    /// Whether `yaml` has `key:` at the top level (a line starting with it).
    private static func hasTopLevelKey(_ key: String, in yaml: String) -> Bool {
        yaml.split(separator: "\n").contains { $0.hasPrefix("\(key):") }
    }

    /// Waits until no call, dialog or session is left; transactions may
    /// still run out their RFC 3261 timers unless `transactions` is true.
    func assertNothingLeft(transactions: Bool = false, within seconds: Double = 5,
                           file: StaticString = #filePath, line: UInt = #line) async {
        let deadline = Date().addingTimeInterval(seconds)
        var counts = await gateway.counts
        var calls = await gateway.activeCalls
        while Date() < deadline {
            counts = await gateway.counts
            calls = await gateway.activeCalls
            let sessionsDone = calls == 0 && counts.dialogs == 0 && counts.incomingInvites == 0 && counts.outgoingInvites == 0
            let transactionsDone = counts.clientTransactions == 0 && counts.serverTransactions == 0
            if sessionsDone && (!transactions || transactionsDone) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        XCTFail("left behind: \(calls) calls, \(counts)", file: file, line: line)
    }
}
