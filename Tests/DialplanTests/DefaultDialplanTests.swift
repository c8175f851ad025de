import XCTest
@testable import Dialplan

/// The decisions of dialplans/default.lua, step by step as the gateway sees them.
final class DefaultDialplanTests: XCTestCase {
    private var script: DialplanScript!

    override func setUpWithError() throws {
        script = try DialplanScript.compile(path: Scripts.defaultPath)
        XCTAssertEqual(script.name, "default.lua")
    }

    private func browser(_ to: String, user: String = "bob", context: DialplanContext = .test,
                         outcomes: [DialplanOutcome] = []) -> DrivenRun {
        DrivenRun(script, call: .browser(to: to, user: user), context: context, outcomes: outcomes)
    }

    private func trunk(_ to: String) -> DrivenRun {
        DrivenRun(script, call: .trunk(to: to))
    }

    func testEchoTestAt600() {
        XCTAssertEqual(browser("600").steps, [.answer, .echo, .hangup(code: 200, reason: nil)])
    }

    func testToneTestAt601PlaysOneKilohertzForFiveSeconds() {
        XCTAssertEqual(browser("601").steps,
                       [.answer, .play(.tone(frequency: 1000, duration: 5)), .hangup(code: 200, reason: nil)])
    }

    func testMenuAt602RingsTheExtensionEntered() {
        let driven = browser("602", outcomes: [.done, .done, .digits("201")])
        XCTAssertEqual(driven.steps, [
            .answer,
            .play(.tone(frequency: 440, duration: 0.5)),
            .collectDigits(max: 4, timeout: 5, terminator: "#"),
            .bridge(.user("alice"), BridgeOptions()),
            .finished,
        ])
        XCTAssertEqual(driven.run.variables, ["menu": "201"])
    }

    func testMenuAt602HangsUpOnAnUnknownExtensionOrNoKeys() {
        let unknown = browser("602", outcomes: [.done, .done, .digits("999")])
        XCTAssertEqual(unknown.last, .hangup(code: 200, reason: nil))
        XCTAssertEqual(unknown.run.variables, ["menu": "999"])
        let silent = browser("602", outcomes: [.done, .done, .digits("")])
        XCTAssertEqual(silent.last, .hangup(code: 200, reason: nil))
        XCTAssertEqual(silent.run.variables, ["menu": ""])
    }

    func testUsersByNameAndByExtension() {
        XCTAssertEqual(browser("alice").steps.first, .bridge(.user("alice"), BridgeOptions()))
        XCTAssertEqual(browser("202", user: "alice").steps.first, .bridge(.user("bob"), BridgeOptions()))
        XCTAssertEqual(browser("carol").steps.first, .bridge(.user("carol"), BridgeOptions()))
    }

    func testNationalNumberGoesToTheFirstTrunkInE164() {
        let driven = browser("030 1234-5678")
        XCTAssertEqual(driven.steps, [.bridge(.trunk(name: "carrier", number: "+493012345678"), BridgeOptions()), .finished])
    }

    func testFailoverToTheNextTrunkOnServerErrorsAndTimeouts() {
        var context = DialplanContext.test
        context.trunks = ["carrier", "backup", "spare"]
        let driven = browser("+49 30 1234567", context: context, outcomes: [
            .bridged(code: 503, reason: "Service Unavailable", answered: false),
            .bridged(code: 408, reason: "Request Timeout", answered: false),
            .bridged(code: 200, reason: "OK", answered: true),
        ])
        XCTAssertEqual(driven.steps, [
            .bridge(.trunk(name: "carrier", number: "+49301234567"), BridgeOptions()),
            .bridge(.trunk(name: "backup", number: "+49301234567"), BridgeOptions()),
            .bridge(.trunk(name: "spare", number: "+49301234567"), BridgeOptions()),
            .finished,
        ])
        XCTAssertEqual(driven.logs.map(\.level), [.warning, .warning])
        XCTAssertEqual(driven.logs.first?.text, "trunk carrier failed with 503 Service Unavailable for +49301234567")
    }

    func testEveryTrunkFailingEndsWithTheLastCode() {
        let driven = browser("+49301234567", outcomes: [
            .failed(code: 503, reason: "trunk not registered"),
            .bridged(code: 500, reason: "Server Internal Error", answered: false),
        ])
        XCTAssertEqual(driven.steps.count, 3)
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.run.fallbackResponse.code, 500)
        XCTAssertEqual(driven.run.fallbackResponse.reason, "Server Internal Error")
    }

    func testNoFailoverWhenTheCalleeIsBusy() {
        let driven = browser("+49301234567", outcomes: [.bridged(code: 486, reason: "Busy Here", answered: false)])
        XCTAssertEqual(driven.steps, [.bridge(.trunk(name: "carrier", number: "+49301234567"), BridgeOptions()), .finished])
        XCTAssertEqual(driven.run.fallbackResponse.code, 486)
        XCTAssertEqual(driven.run.fallbackResponse.reason, "Busy Here")
    }

    func testInternationalRefusedForAUserWithoutPermission() {
        let driven = browser("+1 212 555 0100", user: "bob")
        XCTAssertEqual(driven.steps, [.hangup(code: 403, reason: "international calls are not allowed for this user")])
        XCTAssertEqual(driven.logs.first?.level, .warning)
        XCTAssertEqual(browser("0044 20 7946 0000", user: "bob").last,
                       .hangup(code: 403, reason: "international calls are not allowed for this user"))
    }

    func testInternationalAllowedForAPermittedUser() {
        XCTAssertEqual(browser("0044 20 7946 0000", user: "alice").steps.first,
                       .bridge(.trunk(name: "carrier", number: "+442079460000"), BridgeOptions()))
    }

    func testSomethingThatIsNeitherUserNorNumberIs404() {
        XCTAssertEqual(browser("nobody").steps, [.hangup(code: 404, reason: "Not Found")])
    }

    func testWithoutTrunksNothingIsTriedAndTheAnswerIs404() {
        var context = DialplanContext.test
        context.trunks = []
        let driven = browser("+49301234567", context: context)
        XCTAssertEqual(driven.steps, [.finished])
        XCTAssertEqual(driven.run.fallbackResponse.code, 404)
    }

    func testTrunkCallsRingTheUserTheirDIDBelongsTo() {
        XCTAssertEqual(trunk("+4930123456").steps.first, .bridge(.user("alice"), BridgeOptions()))
        // The same number as carriers often send it, and in national form.
        XCTAssertEqual(trunk("4930123456").steps.first, .bridge(.user("alice"), BridgeOptions()))
        XCTAssertEqual(trunk("030 123456").steps.first, .bridge(.user("alice"), BridgeOptions()))
        // A DID configured without "+" matches the + form too.
        XCTAssertEqual(trunk("+4930999000").steps.first, .bridge(.user("bob"), BridgeOptions()))
    }

    func testTrunkCallsReachUsersByNameOrExtension() {
        XCTAssertEqual(trunk("carol").steps.first, .bridge(.user("carol"), BridgeOptions()))
        XCTAssertEqual(trunk("202").steps.first, .bridge(.user("bob"), BridgeOptions()))
    }

    func testTrunkCallsToAnythingElseAre404AndNeverLeaveThroughATrunk() {
        let driven = trunk("+4930555555")
        XCTAssertEqual(driven.steps, [.hangup(code: 404, reason: "Not Found")])
        XCTAssertEqual(driven.logs.first?.text, "no user for +4930555555 from trunk carrier")
    }

    func testAFailedUserBridgeEndsWithItsCode() {
        let driven = DrivenRun(script, call: .trunk(to: "+4930123456"),
                               outcomes: [.bridged(code: 480, reason: "Temporarily Unavailable", answered: false)])
        XCTAssertEqual(driven.last, .finished)
        XCTAssertEqual(driven.run.fallbackResponse.code, 480)
    }
}
