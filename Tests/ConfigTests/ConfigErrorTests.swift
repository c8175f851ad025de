import XCTest
@testable import Config

/// Each kind of mistake is reported once, at its line and column, in words
/// that say what to change.
final class ConfigErrorTests: XCTestCase {
    func testUnknownKeyNamesTheSectionAndTheChoices() throws {
        let error = try XCTUnwrap(configError("""
            log_level: info
            sip:
              user_agent: x
              trunk: carrier
            """))
        XCTAssertEqual(error.description, "test.yaml:4:3: unknown key 'trunk' in sip (expected one of: "
            + "listen, public_address, user_agent, timers, invite_timeout_s)")
        assertConfigError("trunk:\n  - name: x\n", line: 1, column: 1, "unknown key 'trunk' at the top level")
        assertConfigError("trunks:\n  - { name: c, address: h, portt: 1 }\n", line: 2, column: 28,
                          "unknown key 'portt' in trunk 'c'")
        assertConfigError("users:\n  - { nam: x }\n", line: 2, column: 7, "unknown key 'nam' in users[0]")
        assertConfigError("sip: { timers: { t3_ms: 1 } }", line: 1, column: 18, "in sip.timers")
        // Control characters are shown escaped, so they cannot drive the terminal.
        assertConfigError("sip: { \"\\e[31mred\": 1 }", line: 1, column: 8, "unknown key '\\u{1b}[31mred' in sip")
    }

    func testWrongTypes() {
        assertConfigError("trunks:\n  - name: c\n    address: h\n    port: abc\n", line: 4, column: 11,
                          "expected an integer for port, got 'abc'")
        assertConfigError("trunks: [{ name: c, address: h, port: 5060.5 }]", line: 1, column: 39,
                          "expected an integer for port")
        assertConfigError("trunks: [{ name: c, address: h, register: maybe }]", line: 1, column: 43,
                          "expected true or false for register, got 'maybe'")
        assertConfigError("sip: [udp]", line: 1, column: 6, "expected a mapping of keys in sip, got a list")
        assertConfigError("users: { name: a }", line: 1, column: 8, "expected a list for users, got a mapping")
        assertConfigError("sip: { user_agent: [a, b] }", line: 1, column: 20, "expected a single value for user_agent, got a list")
        assertConfigError("- a\n- b\n", line: 1, column: 1, "expected a mapping of keys at the top level, got a list")
        assertConfigError("log_level: loud", line: 1, column: 12,
                          "log_level must be one of trace, debug, info, notice, warning, error, critical, got 'loud'")
        assertConfigError("{ [a]: b }", line: 1, column: 3, "expected a key name at the top level, got a list")
    }

    func testOutOfRange() {
        assertConfigError("trunks: [{ name: c, address: h, port: 70000 }]", line: 1, column: 39,
                          "port must be between 1 and 65535, got '70000'")
        assertConfigError("trunks: [{ name: c, address: h, port: 0 }]", line: 1, column: 39, "between 1 and 65535")
        assertConfigError("trunks: [{ name: c, address: h, port: 99999999999999999999999 }]", line: 1, column: 39,
                          "between 1 and 65535")
        assertConfigError("sip:\n  timers: { t1_ms: 0 }\n", line: 2, column: 20, "t1_ms must be between 1 and 600000")
        assertConfigError("sip:\n  timers: { t1_ms: 5000, t2_ms: 4000 }\n", line: 2, column: 33,
                          "t2_ms (4000) must not be smaller than t1_ms (5000)")
        assertConfigError("sip: { invite_timeout_s: -1 }", line: 1, column: 26, "invite_timeout_s must be between 1 and 3600")
        assertConfigError("media:\n  rtp_ports: \"20001-29999\"\n", line: 2, column: 14, "must start on an even port")
        assertConfigError("media: { rtp_ports: 30000-20000 }", line: 1, column: 21, "from low to high")
        assertConfigError("media: { rtp_ports: 20000 }", line: 1, column: 21, "like \"20000-29999\"")
        assertConfigError("media: { rtp_ports: 20000-70000 }", line: 1, column: 21, "from 1 to 65535")
        assertConfigError("trunks: [{ name: c, address: h, register_expires_s: 5 }]", line: 1, column: 53,
                          "register_expires_s must be between 60 and 86400")
    }

    func testDuplicates() {
        assertConfigError("""
            users:
              - { name: alice, password: a }
              - { name: bob, password: b }
              - { name: alice, password: c }
            """, line: 4, column: 13, "duplicate user 'alice' (first given on line 2)")
        assertConfigError("""
            trunks:
              - { name: carrier, address: a.example }
              - { name: carrier, address: b.example }
            """, line: 3, column: 13, "duplicate trunk 'carrier' (first given on line 2)")
        assertConfigError("sip:\n  user_agent: a\n  user_agent: b\n", line: 3, column: 3,
                          "duplicate key 'user_agent' in sip (first given on line 2)")
        assertConfigError("""
            sip:
              listen:
                - { transport: udp, address: "0.0.0.0:5060" }
                - { transport: udp, address: "0.0.0.0" }
            """, line: 4, column: 7, "duplicate listener udp 0.0.0.0:5060 (first given on line 3)")
        assertConfigError("trunks: [{ name: c, address: h, codecs: [PCMU, pcmu] }]", line: 1, column: 48,
                          "codec PCMU is listed twice")
    }

    func testListenerMistakes() {
        assertConfigError("""
            sip:
              listen:
                - { transport: tls, address: "0.0.0.0:5061", certificate: certs/sip.crt }
            """, line: 3, column: 7, "a tls listener needs both certificate and private_key (private_key is missing)")
        assertConfigError("sip: { listen: [{ transport: udp, certificate: a.crt }] }", line: 1, column: 48,
                          "certificate applies only to tls listeners, this one is udp")
        assertConfigError("sip: { listen: [{ transport: sctp }] }", line: 1, column: 30,
                          "transport must be one of udp, tcp, tls, got 'sctp'")
        assertConfigError("sip: { listen: [{ address: \"0.0.0.0:5060\" }] }", line: 1, column: 17,
                          "missing key 'transport' in sip.listen[0]")
        assertConfigError("sip: { listen: [{ transport: udp, address: \"::1:5060\" }] }", line: 1, column: 44,
                          "write an IPv6 address in brackets, like [::1]:5060")
        assertConfigError("sip: { listen: [{ transport: udp, address: \"0.0.0.0:http\" }] }", line: 1, column: 44,
                          "the port in address must be between 1 and 65535")
        assertConfigError("sip: { listen: [{ transport: udp, address: \"300.1.2.3:5060\" }] }", line: 1, column: 44,
                          "address must be host:port, [IPv6]:port or a host")
        assertConfigError("sip: { listen: [] }", line: 1, column: 16, "listen needs at least one listener")
        assertConfigError("sip: { public_address: \"1.2.3.4:5060\" }", line: 1, column: 24,
                          "public_address must be a host name or IP address (without a port)")
        assertConfigError("sip: { user_agent: \"a\\r\\nVia: forged\" }", line: 1, column: 20, "one line of printable text")
    }

    func testTrunkAndUserMistakes() {
        assertConfigError("trunks: [{ name: c, address: h, response_timeout_ms: 50 }]", line: 1,
                          "response_timeout_ms must be between 200 and 32000")
        assertConfigError("trunks: [{ name: c, address: h, options_interval_s: -5 }]", line: 1,
                          "options_interval_s must be between 0 and 3600")
        assertConfigError("trunks: [{ name: c, address: h, dtmf: inband }]", line: 1,
                          "dtmf must be one of rfc4733, info, auto, got 'inband'")
        assertConfigError("trunks: [{ name: c, address: h, media_encryption: sdes }]", line: 1,
                          "media_encryption must be one of off, optional, required, got 'sdes'")
        assertConfigError("trunks: [{ name: c, address: h, session_expires_s: 60 }]", line: 1,
                          "session_expires_s is 0 (off) or at least 90")
        assertConfigError("trunks:\n  - name: c\n", line: 2, column: 5, "missing key 'address' in trunk 'c'")
        assertConfigError("trunks: [{ name: c, address: \"sip.example.net:5060\" }]", line: 1, column: 30,
                          "address must be a host name or IP address (without a port)")
        assertConfigError("trunks: [{ name: c, address: h, transport: ws }]", line: 1, column: 44,
                          "transport must be one of udp, tcp, tls, got 'ws'")
        assertConfigError("trunks: [{ name: c, address: h, allowed_sources: [10.0.0.0/8, 10.0.0.300/32] }]",
                          line: 1, column: 63, "IP addresses or CIDR ranges like 192.0.2.0/24, got '10.0.0.300/32'")
        assertConfigError("trunks: [{ name: c, address: h, allowed_sources: [\"::/129\"] }]", line: 1, column: 51,
                          "got '::/129'")
        assertConfigError("trunks: [{ name: c, address: h, codecs: [g729] }]", line: 1, column: 42,
                          "codecs must each be one of PCMU, PCMA, G722, opus, got 'g729'")
        assertConfigError("trunks: [{ name: c, address: h, codecs: [] }]", line: 1, column: 41, "at least one codec")
        assertConfigError("trunks: [{ name: c, address: h, register: true }]", line: 1, column: 43,
                          "trunk 'c' has register: true but no username")
        assertConfigError("trunks: [{ name: c, address: h, realm: \"a\\\"b\" }]", line: 1, column: 40,
                          "realm must not contain quotes")
        assertConfigError("trunks: [{ name: \"my trunk\", address: h }]", line: 1, column: 18,
                          "trunk name must be up to 64 letters, digits")
        assertConfigError("users: [{ name: a, password: x, password_hash: y }]", line: 1, column: 48,
                          "user 'a' has both password and password_hash; keep one")
        assertConfigError("users: [{ name: a }]", line: 1, column: 9, "user 'a' needs a password or password_hash")
        assertConfigError("users: [{ name: \"\", password: x }]", line: 1, column: 17, "name must not be empty")
    }

    func testRecordsMistakes() {
        assertConfigError("records:\n  postgres_url: \"postgres://db/x\"\n", line: 2, column: 17,
                          "postgres_url is set but backend is sqlite (add backend: postgres)")
        assertConfigError("records: { backend: postgres }", line: 1, column: 10, "missing key 'postgres_url' in records")
        assertConfigError("records: { backend: postgres, postgres_url: \"mysql://a:pw@db\" }", line: 1, column: 45,
                          "postgres_url must start with postgres:// or postgresql://")
        assertConfigError("records: { backend: postgres, postgres_url: \"postgres://db\", path: x }", line: 1, column: 68,
                          "path applies to the sqlite backend only")
        assertConfigError("records: { backend: mongo }", line: 1, column: 21, "backend must be one of sqlite, postgres")
    }

    func testYAMLSyntaxErrorsReportTheParsersLine() {
        assertConfigError("sip:\n  listen: [\n    { transport: udp }\n\n", line: 5, "YAML syntax error")
        assertConfigError("log_level: info\nsip:\n  user_agent: a: b\n", line: 3, column: 16,
                          "YAML syntax error: mapping values are not allowed in this context")
        assertConfigError("sip:\n  user_agent: a\n\tpublic_address: b\n", line: 3,
                          "indent with spaces, YAML does not allow tabs")
        assertConfigError("users: *nobody\n", line: 1, column: 8, "found undefined alias")
        assertConfigError("a: 1\n---\nb: 2\n", line: 2, "but found another document")
    }

    func testDeepNestingIsRefusedNotCrashed() {
        assertConfigError(String(repeating: "[", count: 100_000), line: 1, "nests more than 100 levels deep")
        assertConfigError("sip:\n" + String(repeating: "- ", count: 5_000) + "x\n", line: 2, "nests more than")
        assertConfigError(String(repeating: "{a: ", count: 20_000), line: 1, "nests more than")
        // Aliases copy a node, so a "billion laughs" tree is only as big as its text.
        let laughs = "a: &a [x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nusers: [*c, *c]\n"
        assertConfigError(laughs, line: 1, "unknown key 'a' at the top level")
    }

    func testMediaSectionErrors() {
        assertConfigError("media:\n  opus: { complexity: 11 }", line: 2, "complexity must be between 0 and 10")
        assertConfigError("media:\n  opus: { bitrate: 1 }", line: 2, "bitrate")
        assertConfigError("media:\n  symmetric_rtp: maybe", line: 2, "expected true or false")
        assertConfigError("media:\n  consent_timeout_s: 1", line: 2, "consent_timeout_s must be between 5 and 300")
        assertConfigError("media:\n  dtls_certificate: a.crt", line: 2, "dtls_certificate and dtls_private_key go together")
    }
}
