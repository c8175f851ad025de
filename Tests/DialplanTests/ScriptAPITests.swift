import XCTest
@testable import Dialplan

/// The fields and helper functions a script sees, with real values.
final class ScriptAPITests: XCTestCase {
    func testCallFields() throws {
        let call = DialplanCall(from: "+4915112345678", to: "+4930123456", direction: .fromTrunk, sourceTrunk: "carrier",
                                displayName: "Erika Mustermann", headers: ["X-Account": "42"], id: "in-7")
        let script = try XCTUnwrap(Scripts.compile("""
            log.info(call.from, call.to, call.user, call.direction, call.trunk, call.display_name, call.id)
            log.info(call.headers["X-Account"], call.headers["x-account"], call.headers["X-Other"])
            for name, value in pairs(call.headers) do log.info(name, value) end
            """))
        let driven = DrivenRun(script, call: call)
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.logs.map(\.text), [
            "+4915112345678 +4930123456 nil trunk carrier Erika Mustermann in-7",
            "42 42 nil",
            "X-Account 42",
        ])
        XCTAssertEqual(Scripts.evaluate("call.user .. ' ' .. call.direction .. ' ' .. tostring(call.trunk)"), "bob browser nil")
    }

    func testE164() {
        let cases: [(String, String)] = [
            ("e164('+49 30 1234-5678')", "+493012345678"),
            ("e164('0049 30 12345678')", "+493012345678"),
            ("e164('030 12345678')", "+493012345678"),
            ("e164('(030) 123.456/78')", "+493012345678"),
            ("e164('+49 (0)30 12345678')", "+493012345678"),
            ("e164('tel:+442079460000')", "+442079460000"),
            ("e164('020 7946 0000', '44')", "+442079460000"),
            ("e164('212-555-0100', '1')", "+12125550100"),
            ("e164('1 212 555 0100', '1')", "+12125550100"),
            ("e164('011 44 20 7946 0000', '1')", "+442079460000"),
            ("e164('12345')", "nil"),        // a local number without area code
            ("e164('alice')", "nil"),
            ("e164('+49 30 12*34')", "nil"),
            ("e164('+0049301234')", "nil"),
            ("e164('+1234567890123456')", "nil"), // 16 digits
            ("e164('')", "nil"),
        ]
        for (expression, expected) in cases {
            XCTAssertEqual(Scripts.evaluate(expression), expected, expression)
        }
    }

    func testInternationalIsAgainstTheHomeCountry() {
        XCTAssertEqual(Scripts.evaluate("is_international('+493012345678')"), "false")
        XCTAssertEqual(Scripts.evaluate("is_international('030 12345678')"), "false")
        XCTAssertEqual(Scripts.evaluate("is_international('+442079460000')"), "true")
        XCTAssertEqual(Scripts.evaluate("is_international('0044 20 7946 0000')"), "true")
        // North America (+1) is abroad from a home of +49.
        XCTAssertEqual(Scripts.evaluate("is_international('+12125550100')"), "true")
    }

    func testPrefixes() {
        XCTAssertEqual(Scripts.evaluate("starts_with('+4930123', '+4930')"), "true")
        XCTAssertEqual(Scripts.evaluate("starts_with('+4930123', '+4940')"), "false")
        XCTAssertEqual(Scripts.evaluate("starts_with('x', '')"), "true")
        XCTAssertEqual(Scripts.evaluate("match_prefix('+4930123', {'+49', '+4930', '+1'})"), "+4930")
        XCTAssertEqual(Scripts.evaluate("match_prefix('+4930123', {'+1', '+44'})"), "nil")
        XCTAssertEqual(Scripts.evaluate("match_prefix('+4930123', {})"), "nil")
    }

    func testUsersTrunksAndDIDs() {
        XCTAssertEqual(Scripts.evaluate("user_exists('alice')"), "true")
        XCTAssertEqual(Scripts.evaluate("user_exists('mallory')"), "false")
        XCTAssertEqual(Scripts.evaluate("user_exists(nil)"), "false")
        XCTAssertEqual(Scripts.evaluate("user_by_extension('202')"), "bob")
        XCTAssertEqual(Scripts.evaluate("user_by_extension('299')"), "nil")
        XCTAssertEqual(Scripts.evaluate("user_allowed_international('alice')"), "true")
        XCTAssertEqual(Scripts.evaluate("user_allowed_international('bob')"), "false")
        XCTAssertEqual(Scripts.evaluate("user_allowed_international('mallory')"), "false")
        XCTAssertEqual(Scripts.evaluate("user_allowed_international(nil)"), "false")
        XCTAssertEqual(Scripts.evaluate("table.concat(trunks(), ',')"), "carrier,backup")
        // trunks() hands out a copy: changing it changes nothing for the next call of it.
        XCTAssertEqual(Scripts.evaluate("(function() local t = trunks(); t[1] = 'x'; return trunks()[1] end)()"), "carrier")
        XCTAssertEqual(Scripts.evaluate("did_user('+4930123456')"), "alice")
        XCTAssertEqual(Scripts.evaluate("did_user('030 123456')"), "alice")
        XCTAssertEqual(Scripts.evaluate("did_user('4930999000')"), "bob")
        XCTAssertEqual(Scripts.evaluate("did_user('+4930999000')"), "bob")
        XCTAssertEqual(Scripts.evaluate("did_user('+4930555555')"), "nil")
        XCTAssertEqual(Scripts.evaluate("variables.greeting"), "hello")
        XCTAssertEqual(Scripts.evaluate("variables.missing"), "nil")
    }

    /// A trunk whose OPTIONS pings go unanswered is left out of trunks(),
    /// the failover list, but a script may still name it.
    func testTrunksLeavesOutTrunksThatAreDown() throws {
        var context = DialplanContext.test
        context.downTrunks = ["carrier"]
        XCTAssertEqual(Scripts.evaluate("table.concat(trunks(), ',')", context: context), "backup")
        let script = try XCTUnwrap(Scripts.compile("""
            for _, t in ipairs(trunks()) do call:bridge("trunk:" .. t) end
            call:bridge("trunk:carrier")
            """))
        let driven = DrivenRun(script, call: .browser(to: "+441234567890"), context: context, outcomes: [
            .bridged(code: 503, reason: nil, answered: false), .bridged(code: 503, reason: nil, answered: false),
        ])
        XCTAssertEqual(driven.steps, [
            .bridge(.trunk(name: "backup", number: "+441234567890"), BridgeOptions()),
            .bridge(.trunk(name: "carrier", number: "+441234567890"), BridgeOptions()),
            .finished,
        ])
    }

    func testPrivacyWithholdsTheCallerAndMustBeABoolean() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call:bridge("trunk:carrier", {caller_id = "+4930555", privacy = true})
            call:bridge("trunk:carrier", {privacy = false})
            """))
        let driven = DrivenRun(script, call: .browser(to: "+441234567890"), outcomes: [
            .bridged(code: 503, reason: nil, answered: false), .bridged(code: 503, reason: nil, answered: false),
        ])
        var withheld = BridgeOptions(callerID: "+4930555")
        withheld.privacy = true
        XCTAssertEqual(driven.steps, [
            .bridge(.trunk(name: "carrier", number: "+441234567890"), withheld),
            .bridge(.trunk(name: "carrier", number: "+441234567890"), BridgeOptions()),
            .finished,
        ])
        let bad = try XCTUnwrap(Scripts.compile(#"call:bridge("trunk:carrier", {privacy = "yes"})"#))
        let refused = DrivenRun(bad, call: .browser(to: "+441234567890"))
        XCTAssertTrue("\(refused.last)".contains("privacy must be true or false"), "\(refused.last)")
    }

    func testRelayLetsATrunksCallGoOutAgainAndMustBeABooleanForSIPTargets() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call:bridge("trunk:carrier", {relay = true, privacy = true, headers = {["X-Leg"] = "b"}})
            call:bridge("sip:2001@127.0.0.1:5072", {relay = true})
            call:bridge("trunk:carrier")
            """))
        let driven = DrivenRun(script, call: .browser(to: "+441234567890"), outcomes: [
            .bridged(code: 503, reason: nil, answered: false), .bridged(code: 503, reason: nil, answered: false),
            .bridged(code: 503, reason: nil, answered: false),
        ])
        var relayed = BridgeOptions(headers: ["X-Leg": "b"])
        relayed.relay = true
        relayed.privacy = true
        var relayedURI = BridgeOptions()
        relayedURI.relay = true
        XCTAssertEqual(driven.steps, [
            .bridge(.trunk(name: "carrier", number: "+441234567890"), relayed),
            .bridge(.uri("sip:2001@127.0.0.1:5072"), relayedURI),
            .bridge(.trunk(name: "carrier", number: "+441234567890"), BridgeOptions()),
            .finished,
        ])
        for (text, message) in [(#"call:bridge("trunk:carrier", {relay = "yes"})"#, "relay must be true or false"),
                                (#"call:bridge("user:alice", {relay = true})"#, "relay is only for trunk and sip: targets")] {
            let refused = DrivenRun(try XCTUnwrap(Scripts.compile(text)), call: .browser(to: "+441234567890"))
            XCTAssertTrue("\(refused.last)".contains(message), "\(refused.last)")
        }
    }

    func testLogLevels() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            log.debug('d') log.info('i', 1, true) log.warn('w') log.error('e', nil)
            log.info(string.rep('x', 3000))
            """))
        let driven = DrivenRun(script, call: .browser(to: "x"))
        XCTAssertEqual(driven.logs.prefix(4).map(\.level), [.debug, .info, .warning, .error])
        XCTAssertEqual(driven.logs.prefix(4).map(\.text), ["d", "i 1 true", "w", "e nil"])
        XCTAssertEqual(driven.logs.last?.text, String(repeating: "x", count: 2000) + " [truncated]")
    }

    func testBridgeOptionsReachTheGateway() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call:bridge("trunk:backup", {
              number = "+441234567890", caller_id = "+4930123456", caller_name = "Reception",
              ring_timeout = 25, codecs = {"pcma", "G722"},
              headers = {["X-Account"] = "42", ["X-Cost-Center"] = "7"},
            })
            call:bridge("trunk:carrier")
            call:bridge("sips:support@pbx.example.org;transport=tls", {ring_timeout = 2.5})
            """))
        let driven = DrivenRun(script, call: .browser(to: "*21#"), outcomes: [
            .bridged(code: 503, reason: nil, answered: false), .bridged(code: 503, reason: nil, answered: false),
        ])
        XCTAssertEqual(driven.steps, [
            .bridge(.trunk(name: "backup", number: "+441234567890"),
                    BridgeOptions(callerID: "+4930123456", callerName: "Reception", ringTimeout: 25, codecs: ["PCMA", "G722"],
                                  headers: ["X-Account": "42", "X-Cost-Center": "7"])),
            .bridge(.trunk(name: "carrier", number: "*21#"), BridgeOptions()),
            .bridge(.uri("sips:support@pbx.example.org;transport=tls"), BridgeOptions(ringTimeout: 2.5)),
            .finished,
        ])
    }

    func testBridgeResultsAsTheScriptSeesThem() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            for i = 1, 4 do
              local r = call:bridge("user:alice")
              log.info(r.ok, r.code, r.reason, r.answered)
            end
            """))
        let driven = DrivenRun(script, call: .browser(to: "x"), outcomes: [
            .bridged(code: 486, reason: "Busy Here", answered: false),
            .failed(code: 480, reason: "alice is not logged in"),
            .bridged(code: 200, reason: "OK", answered: true),
            .bridged(code: 408, reason: nil, answered: false),
        ])
        XCTAssertEqual(driven.logs.map(\.text), [
            "false 486 Busy Here false",
            "false 480 alice is not logged in false",
            "true 200 OK true",
            "false 408 nil false",
        ])
        XCTAssertEqual(driven.run.fallbackResponse.code, 408)
    }

    func testPlayForms() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            call:play("tone:440")
            call:play("tone:350:2.5")
            call:play{tone = 425, duration = 0.2}
            call:play{tone = 1000}
            call:play{file = "sounds/welcome.wav"}
            log.info(call:play("sounds/missing.wav"))
            """))
        let driven = DrivenRun(script, call: .browser(to: "x"),
                               outcomes: [.done, .done, .done, .done, .done, .failed(code: 404, reason: "no such file")])
        XCTAssertEqual(driven.steps, [
            .play(.tone(frequency: 440, duration: 1)),
            .play(.tone(frequency: 350, duration: 2.5)),
            .play(.tone(frequency: 425, duration: 0.2)),
            .play(.tone(frequency: 1000, duration: 1)),
            .play(.file("sounds/welcome.wav")),
            .play(.file("sounds/missing.wav")),
            .finished,
        ])
        XCTAssertEqual(driven.logs.map(\.text), ["nil no such file"])
    }

    func testAnswerEchoAndDigitsReturnValues() throws {
        let script = try XCTUnwrap(Scripts.compile("""
            log.info(call:answer())
            log.info(call:echo())
            log.info(call:collect_digits())
            log.info(call:collect_digits{max = 2, timeout = 0.5, terminator = "*"})
            """))
        let driven = DrivenRun(script, call: .browser(to: "x"), outcomes: [
            .failed(code: 487, reason: "caller went away"), .done, .digits("1234"), .failed(code: 500, reason: "no DTMF"),
        ])
        XCTAssertEqual(driven.steps, [
            .answer, .echo,
            .collectDigits(max: 16, timeout: 5, terminator: nil),
            .collectDigits(max: 2, timeout: 0.5, terminator: "*"),
            .finished,
        ])
        XCTAssertEqual(driven.logs.map(\.text), ["nil caller went away", "true", "1234", "nil no DTMF"])
    }
}
