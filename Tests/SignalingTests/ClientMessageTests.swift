import Signaling
import XCTest

/// Every client message of signaling-protocol.md, and every way one can be wrong.
final class ClientMessageTests: XCTestCase {
    func testEveryMessageParses() throws {
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"login","user":"alice","password":"s"}"#),
                       .login(.password(user: "alice", password: "s")))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"login","token":"v1.a.b"}"#), .login(.token("v1.a.b")))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"ping","extra":[1,2]}"#), .ping)
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"call","call":"c1","to":"+15551234567","sdp":"v=0","headers":{"X-Team":"blue"}}"#),
                       .call(id: "c1", to: "+15551234567", sdp: "v=0", headers: ["X-Team": "blue"]))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"hangup","call":"c1"}"#), .hangup(call: "c1"))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"dtmf","call":"c1","digits":"12#a"}"#),
                       .dtmf(call: "c1", digits: "12#A", durationMilliseconds: 100))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"dtmf","call":"c1","digits":"5","duration":5}"#),
                       .dtmf(call: "c1", digits: "5", durationMilliseconds: 40), "clamped to 40..2000")
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"dtmf","call":"c1","digits":"5","duration":9000}"#),
                       .dtmf(call: "c1", digits: "5", durationMilliseconds: 2000))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"candidate","call":"c1","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}"#),
                       .candidate(call: "c1", candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"candidate","call":"c1","candidate":null}"#),
                       .candidate(call: "c1", candidate: nil), "null ends the candidates")
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"candidate","call":"c1","candidate":""}"#),
                       .candidate(call: "c1", candidate: nil))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"ringing","call":"in-7"}"#), .ringing(call: "in-7"))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"answer","call":"in-7","sdp":"v=0"}"#), .answer(call: "in-7", sdp: "v=0"))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"reject","call":"in-7"}"#), .reject(call: "in-7", code: 486))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"reject","call":"in-7","code":603}"#), .reject(call: "in-7", code: 603))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"reject","call":"in-7","code":200}"#), .reject(call: "in-7", code: 486),
                       "codes outside 400..699 count as 486")
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"hold","call":"c1"}"#), .hold(call: "c1", held: true))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"unhold","call":"in-7"}"#), .hold(call: "in-7", held: false))
        XCTAssertEqual(ServerMessage.held(call: "c1", held: true).json, #"{"type":"held","call":"c1"}"#)
        XCTAssertEqual(ServerMessage.held(call: "c1", held: false).json, #"{"type":"unheld","call":"c1"}"#)
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"transfer","call":"c1","to":"2002"}"#),
                       .transfer(call: "c1", to: "2002"))
        XCTAssertEqual(try ClientMessage.parse(#"{"type":"transfer","call":"c1","replaces":"in-2"}"#),
                       .attendedTransfer(call: "c1", replaces: "in-2"))
        XCTAssertEqual(ServerMessage.transferred(call: "c1").json, #"{"type":"transferred","call":"c1"}"#)
    }

    func testFaultsGetTheProtocolsErrors() {
        assertError("not json", 400, "not JSON")
        assertError("[1,2]", 400, "not a JSON object")
        assertError(#"{"call":"c1"}"#, 400, "no 'type'", call: "c1")
        assertError(#"{"type":7}"#, 400, "'type' must be a string")
        assertError(#"{"type":"dance","call":"c9"}"#, 400, "unknown message type 'dance'", call: "c9")
        assertError(#"{"type":"call","to":"1","sdp":"v=0"}"#, 400, "no 'call'")
        assertError(#"{"type":"hold"}"#, 400, "no 'call'")
        assertError(#"{"type":"transfer","to":"2002"}"#, 400, "no 'call'")
        assertError(#"{"type":"transfer","call":"c1"}"#, 400, "no 'to'", call: "c1")
        assertError(#"{"type":"transfer","call":"c1","replaces":"c1"}"#, 400, "a call cannot replace itself", call: "c1")
        assertError(#"{"type":"transfer","call":"c1","replaces":""}"#, 400,
                    "'replaces' must be a call id of 1 to 128 bytes", call: "c1")
        assertError(#"{"type":"transfer","call":"c1","to":""}"#, 400, "'to' must be 1 to 256 characters", call: "c1")
        assertError(#"{"type":"call","call":5,"to":"1","sdp":"v=0"}"#, 400, "'call' must be a string")
        assertError(#"{"type":"call","call":"c1","sdp":"v=0"}"#, 400, "no 'to'", call: "c1")
        assertError(#"{"type":"call","call":"c1","to":"1"}"#, 400, "no 'sdp'", call: "c1")
        assertError(#"{"type":"call","call":"c1","to":"1","sdp":"v=0","headers":{"Via":"x"}}"#, 400, "starting with X-", call: "c1")
        assertError(#"{"type":"call","call":"c1","to":"1","sdp":"v=0","headers":{"X-A":"a\r\nB: c"}}"#, 400, "one-line", call: "c1")
        assertError(#"{"type":"dtmf","call":"c1","digits":"12x"}"#, 400, "'digits'", call: "c1")
        assertError(#"{"type":"dtmf","call":"c1","digits":"1","duration":true}"#, 400, "whole number", call: "c1")
        assertError(#"{"type":"dtmf","call":"c1","digits":"1","duration":1.5}"#, 400, "whole number", call: "c1")
        assertError(#"{"type":"login","user":"alice"}"#, 400, "no 'password'")
        assertError(#"{"type":"call","call":"in-1","to":"1","sdp":"v=0"}"#, 400, "the server's", call: "in-1")
        assertError(#"{"type":"answer","call":"in-1"}"#, 400, "no 'sdp'", call: "in-1")
    }

    func testRandomInputNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "\"type\"", ":", "\"call\"", ",", "\"c1\"", "[", "]", "null", "true", "1e999", "\"\\u0000\"", "\"dtmf\""]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            do {
                _ = try ClientMessage.parse(text)
            } catch {
                XCTAssertTrue([400].contains(error.code), "\(text): \(error)")
            }
        }
    }

    func testServerMessagesAreJSONWithEscapes() throws {
        let text = ServerMessage.hangup(call: "c\"1", code: 486, reason: "Busy\nHere").json
        XCTAssertEqual(text, #"{"type":"hangup","call":"c\"1","code":486,"reason":"Busy\nHere"}"#)
        let welcome = ServerMessage.welcome(user: "alice", iceServers: [ICEServer(urls: ["stun:stun.example:3478"])]).json
        XCTAssertEqual(welcome, #"{"type":"welcome","user":"alice","iceServers":[{"urls":["stun:stun.example:3478"]}]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(ServerMessage.incoming(
            call: "in-1", from: "+1555", fromName: "Bob \u{1}", to: "alice", sdp: "v=0\r\n").json.utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["fromName"] as? String, "Bob \u{1}")
        XCTAssertEqual(parsed?["sdp"] as? String, "v=0\r\n")
    }

    private func assertError(_ text: String, _ code: Int, _ reason: String, call: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            let message = try ClientMessage.parse(text)
            XCTFail("\(text) parsed as \(message)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(text)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(reason), "\(text): \(error.reason)", file: file, line: line)
            XCTAssertEqual(error.call, call, "\(text)", file: file, line: line)
        }
    }
}
