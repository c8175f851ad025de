// Framing SIP over TCP/TLS: partial data, several messages in one read, RFC 5626 keepalives, and
// the limits that keep a peer from making us buffer without end.
import Testing
@testable import SIP

@Suite("Stream framer") struct StreamFramerTests {
    private func frame(_ bytes: [UInt8], max: Int = 65_536) throws(SIPParseError) -> SIPStreamFrame {
        let result: Result<SIPStreamFrame, SIPParseError> = bytes.withUnsafeBytes { raw in
            do throws(SIPParseError) {
                return .success(try SIPStreamFramer.nextFrame(raw, maxMessageSize: max))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func frameError(_ bytes: [UInt8], max: Int = 65_536) -> String? {
        do throws(SIPParseError) {
            _ = try frame(bytes, max: max)
            return nil
        } catch {
            return error.reason
        }
    }

    private var invite: [UInt8] { Array(sampleInviteText.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test func wholeMessage() throws {
        #expect(try frame(invite) == .message(invite.count))
    }

    @Test func everyPartialPrefixNeedsMoreData() throws {
        let message = invite
        for end in 0..<message.count {
            #expect(try frame(Array(message[..<end])) == .needMoreData, "prefix \(end)")
        }
    }

    @Test func twoMessagesInOneBuffer() throws {
        let bye = Array("BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nl: 3\r\n\r\nabc".utf8)
        var buffer = invite + bye + Array("OPT".utf8)
        guard case .message(let first) = try frame(buffer) else {
            Issue.record("expected the first message")
            return
        }
        #expect(first == invite.count)
        #expect(try SIPParser.parse(Array(buffer[..<first])).request?.method == .invite)
        buffer.removeFirst(first)
        #expect(try frame(buffer) == .message(bye.count))
        buffer.removeFirst(bye.count)
        #expect(try frame(buffer) == .needMoreData)
    }

    @Test func keepalives() throws {
        #expect(try frame(Array("\r\n\r\n".utf8)) == .keepalive(4))  // ping
        #expect(try frame(Array("\r\n".utf8)) == .keepalive(2))      // pong
        #expect(try frame(Array("\r\n\r\nINVITE".utf8)) == .keepalive(4))
        #expect(try frame(Array("\r\n\r".utf8)) == .keepalive(2))    // a lone CR may be half a CRLF
        #expect(try frame(Array("\r".utf8)) == .needMoreData)
        #expect(try frame(Array("\n\n".utf8)) == .keepalive(2))
        #expect(try frame([]) == .needMoreData)
        var buffer = Array("\r\n\r\n".utf8) + invite
        if case .keepalive(let n) = try frame(buffer) { buffer.removeFirst(n) }
        #expect(try frame(buffer) == .message(invite.count))
    }

    @Test func contentLengthIsMandatoryOnStreams() throws {
        let noLength = Array("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n".utf8)
        #expect(frameError(noLength) == "Missing Content-Length")
        #expect(frameError(Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n".utf8)) == "Invalid Content-Length")
        #expect(frameError(Array("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n".utf8))
            == "Multiple values for Content-Length")
        let agreeing = Array("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nCONTENT-LENGTH : 1\r\n\r\nx".utf8)
        #expect(try frame(agreeing) == .message(agreeing.count))
    }

    @Test func oversizeMessagesAreRefused() throws {
        // Declared too large.
        let big = Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n".utf8)
        #expect(frameError(big) == "Message too large")
        #expect(frameError(Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n".utf8))
            == "Invalid Content-Length")
        // Header section that never ends.
        let endless = Array("OPTIONS sip:a@b SIP/2.0\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 2_000)
        #expect(frameError(endless, max: 1_000) == "Message too large")
        #expect(frameError(Array(endless.prefix(900)), max: 1_000) == nil)
        // Exactly at the limit is fine.
        #expect(try frame(invite, max: invite.count) == .message(invite.count))
        #expect(frameError(invite, max: invite.count - 1) == "Message too large")
    }

    /// On every torture message with a Content-Length, framing agrees with the datagram parser
    /// about where the message ends.
    @Test func framingAgreesWithTheParser() throws {
        var checked = 0
        for name in try TortureVectors.names("rfc4475") {
            let bytes = try TortureVectors.bytes("rfc4475", name)
            guard let message = try? SIPParser.parse(bytes), let length = message.headers.contentLength else { continue }
            let framed = try frame(bytes)
            guard case .message(let count) = framed else {
                Issue.record("\(name): \(framed)")
                continue
            }
            #expect(Array(bytes[(count - length)..<count]) == message.body, "\(name)")
            #expect(try SIPParser.parse(Array(bytes[..<count])) == message, "\(name)")
            checked += 1
        }
        #expect(checked > 25)
    }

    @Test func bareLineFeedFraming() throws {
        let message = Array("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h\nl: 2\n\nokMORE".utf8)
        #expect(try frame(message) == .message(message.count - 4))
    }
}
