import XCTest
@testable import Config

/// `${VAR}` expansion, and secrets staying out of everything printed.
final class ConfigEnvironmentTests: XCTestCase {
    func testExpansion() throws {
        let yaml = """
            sip:
              user_agent: "Tieline/${VERSION} on ${HOST:-unknown} costs $$5, pa$word"
              public_address: ${PUBLIC_IP:-192.0.2.1}
            trunks:
              - { name: c, address: h, port: "${TRUNK_PORT:-5080}", register: "${REG:-false}" }
            """
        let config = try loadConfig(yaml, environment: ["VERSION": "1.2", "HOST": "", "TRUNK_PORT": "5090"])
        XCTAssertEqual(config.sip.userAgent, "Tieline/1.2 on unknown costs $5, pa$word",
                       "an empty variable takes the default, as in the shell")
        XCTAssertEqual(config.sip.publicAddress, "192.0.2.1")
        XCTAssertEqual(config.trunks[0].port, 5090, "typed values can come from the environment")
        XCTAssertFalse(config.trunks[0].register)

        XCTAssertEqual(try loadConfig(yaml, environment: ["VERSION": "2", "PUBLIC_IP": "198.51.100.7"]).sip.publicAddress,
                       "198.51.100.7")
    }

    func testExpansionEdges() {
        let environment = ["X": "x", "EMPTY": ""]
        let cases: [(String, String)] = [
            ("plain", "plain"), ("$", "$"), ("a$", "a$"), ("$$", "$"), ("$${X}", "${X}"), ("$$$", "$$"),
            ("${X}${X}", "xx"), ("${EMPTY}", ""), ("${EMPTY:-d}", "d"), ("${MISSING:-a:-b}", "a:-b"),
            ("${MISSING:-}", ""), ("${X:-d}", "x"), ("$X", "$X"), ("é${X}é", "éxé"),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try EnvironmentExpansion.expand(text, environment: environment).get(), expected, text)
        }
        XCTAssertEqual(EnvironmentExpansion.expand("${MISSING}", environment: environment), .failure(.unset(name: "MISSING")))
        XCTAssertEqual(EnvironmentExpansion.expand("${}", environment: environment), .failure(.badName("")))
        XCTAssertEqual(EnvironmentExpansion.expand("a${X", environment: environment), .failure(.unterminated))
    }

    func testURLRedaction() {
        XCTAssertEqual(Redaction.url("postgres://db/x"), "postgres://db/x")
        XCTAssertEqual(Redaction.url("postgres://app@db/x"), "postgres://app@db/x")
        XCTAssertEqual(Redaction.url("postgresql://app:p@ss@db:5432/x#f"), "postgresql://app:<redacted>@db:5432/x?<redacted>")
        XCTAssertEqual(Redaction.url("not a url"), "<redacted>")
    }

    func testUnsetVariableIsAnErrorAtItsLine() {
        assertConfigError("log_level: info\nusers:\n  - name: alice\n    password: \"${ALICE_PW}\"\n",
                          line: 4, column: 15,
                          "environment variable ALICE_PW is not set (used in password; write ${ALICE_PW:-default}")
        assertConfigError("sip: { user_agent: \"${UA\" }", line: 1, column: 20, "unterminated ${ in user_agent")
        assertConfigError("sip: { user_agent: \"${1UA}\" }", line: 1, column: 20, "bad environment reference '${1UA' in user_agent")
        assertConfigError("trunks: [{ name: c, address: h, port: \"${P}\" }]", environment: ["P": "x"], line: 1, column: 39,
                          "expected an integer for port, got 'x'")
    }

    func testSecretsAreRedactedWhenPrinted() throws {
        let secrets = ["user-s3cret", "trunk-s3cret", "hash-s3cret", "db-s3cret", "token-s3cret-0123456789"]
        let config = try loadConfig("""
            users:
              - { name: alice, password: "${ALICE}" }
              - { name: bob, password_hash: "$2b$10$hash-s3cretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
            trunks:
              - { name: c, address: h, username: u, password: "${TRUNK}" }
            records: { backend: postgres, postgres_url: "postgres://app:db-s3cret@db:5432/calls?password=db-s3cret" }
            web: { token_secret: "token-s3cret-0123456789" }
            """, environment: ["ALICE": "user-s3cret", "TRUNK": "trunk-s3cret"])
        XCTAssertEqual(config.trunks[0].password, "trunk-s3cret", "the value is there for the code that needs it")

        var dumped = ""
        dump(config, to: &dumped)
        let printed = [
            "\(config)", String(reflecting: config), dumped,
            "\(config.users[0])", String(reflecting: config.users), "\(config.users[0].credential)",
            "\(config.trunks[0])", String(reflecting: config.trunks[0]), "\(config.records)", "\(config.web)",
        ]
        for text in printed {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "\(secret) leaked in: \(text)")
            }
        }
        XCTAssertTrue("\(config.trunks[0])".contains("password: <redacted>"))
        XCTAssertEqual("\(config.records)", "postgres(postgres://app:<redacted>@db:5432/calls?<redacted>)")
        XCTAssertTrue(dumped.contains("alice"), "the rest is still shown: \(dumped)")
    }

    func testSecretsStayOutOfErrors() {
        let secret = "hunter2-s3cret"
        let environment = ["PW": secret]
        let cases = [
            "users: [{ name: a, password: [\(secret)] }]",
            "users: [{ name: a, password: { x: \(secret) } }]",
            "users: [{ name: a, password: \"\(secret)${bad name}\" }]",
            "users: [{ name: a, password: \"\(secret)${OPEN\" }]",
            "users: [{ name: a, password: \"${PW}\", password_hash: \"${PW}\" }]",
            "trunks: [{ name: c, address: h, password: \"${PW}\" }]",
            "records: { backend: postgres, postgres_url: \"mysql://u:\(secret)@h\" }",
            "records: { backend: postgres, postgres_url: [\(secret)] }",
        ]
        for yaml in cases {
            guard let error = configError(yaml, environment: environment) else { continue }
            XCTAssertFalse(error.description.contains(secret), "leaked: \(error)")
            XCTAssertFalse(error.description.contains("hunter2"), "leaked part: \(error)")
        }
    }
}
