import TestSupport
import XCTest
@testable import Config

/// `IPAddressRange`, which decides who may send calls in through a trunk.
final class ConfigAddressTests: XCTestCase {
    func testIPv4Ranges() throws {
        let net = try XCTUnwrap(IPAddressRange("192.0.2.0/24"))
        XCTAssertEqual(net.family, .ipv4)
        XCTAssertEqual(net.prefixLength, 24)
        XCTAssertTrue(net.contains("192.0.2.0"))
        XCTAssertTrue(net.contains("192.0.2.255"))
        XCTAssertFalse(net.contains("192.0.3.0"))
        XCTAssertFalse(net.contains("2001:db8::1"))
        XCTAssertTrue(net.contains("::ffff:192.0.2.9"), "dual-stack sockets report IPv4 peers this way")
        XCTAssertFalse(net.contains("::ffff:192.0.3.9"))

        let single = try XCTUnwrap(IPAddressRange("203.0.113.5"))
        XCTAssertEqual(single.prefixLength, 32)
        XCTAssertEqual(single.description, "203.0.113.5")
        XCTAssertTrue(single.contains("203.0.113.5"))
        XCTAssertFalse(single.contains("203.0.113.6"))

        let everything = try XCTUnwrap(IPAddressRange("0.0.0.0/0"))
        XCTAssertTrue(everything.contains("255.255.255.255"))
        XCTAssertFalse(everything.contains("::1"))

        XCTAssertEqual(IPAddressRange("10.1.2.3/8"), IPAddressRange("10.0.0.0/8"), "host bits are ignored")
        XCTAssertEqual(IPAddressRange("10.1.2.3/8")?.description, "10.0.0.0/8")
        XCTAssertTrue(try XCTUnwrap(IPAddressRange("172.16.0.0/12")).contains("172.31.255.1"))
        XCTAssertFalse(try XCTUnwrap(IPAddressRange("172.16.0.0/12")).contains("172.32.0.1"))
    }

    func testIPv6Ranges() throws {
        let net = try XCTUnwrap(IPAddressRange("2001:DB8::/32"))
        XCTAssertEqual(net.family, .ipv6)
        XCTAssertEqual(net.description, "2001:db8::/32")
        XCTAssertTrue(net.contains("2001:db8:ffff::1"))
        XCTAssertTrue(net.contains("[2001:db8::1]"), "brackets are allowed")
        XCTAssertTrue(net.contains("2001:db8::1%eth0"), "a zone is ignored")
        XCTAssertFalse(net.contains("2001:db9::1"))
        XCTAssertFalse(net.contains("192.0.2.1"))

        // Prefixes that cut inside the low 64 bits.
        let narrow = try XCTUnwrap(IPAddressRange("2001:db8::abcd:0/112"))
        XCTAssertTrue(narrow.contains("2001:db8::abcd:1234"))
        XCTAssertFalse(narrow.contains("2001:db8::abce:1234"))
        XCTAssertTrue(try XCTUnwrap(IPAddressRange("::1")).contains("::1"))
        XCTAssertFalse(try XCTUnwrap(IPAddressRange("::1")).contains("::2"))
        XCTAssertTrue(try XCTUnwrap(IPAddressRange("::/0")).contains("ffff::1"))
        XCTAssertTrue(try XCTUnwrap(IPAddressRange("fe80::/10")).contains("febf::1"))
        XCTAssertFalse(try XCTUnwrap(IPAddressRange("fe80::/10")).contains("fec0::1"))
    }

    func testRejectsWhatIsNotAnAddressOrRange() {
        let bad = ["", "abc", "10.1", "10.0.0.256", "010.0.0.1", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8",
                   "10.0.0.0/-1", "10.0.0.0/8/8", "::1/129", ":::1", "1.2.3.4\u{0}", "1.2.3.4 ", " 1.2.3.4",
                   "[::1]", "fe80::1%eth0", "10.0.0.0/08x", "10.0.0.0/٣", "host.example.net"]
        for text in bad {
            XCTAssertNil(IPAddressRange(text), "accepted \(text.debugDescription)")
        }
        let any = IPAddressRange("0.0.0.0/0")!
        for text in ["", "x", "1.2.3", "999.1.1.1", "[", "%", "1.2.3.4%"] {
            XCTAssertFalse(any.contains(text), "contains \(text.debugDescription)")
        }
    }

    func testRandomTextNeverCrashes() {
        var random = SeededGenerator(seed: 7)
        let alphabet = Array("0123456789abcdefABCDEF.:/%[]- x\u{0}")
        for _ in 0..<2000 {
            let length = Int(random.next() % 48)
            let text = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            if let range = IPAddressRange(text) {
                // Whatever parses must print as something that parses to the same range.
                XCTAssertEqual(IPAddressRange(range.description), range, text)
            }
            _ = IPAddressRange("10.0.0.0/8")!.contains(text)
        }
    }
}

