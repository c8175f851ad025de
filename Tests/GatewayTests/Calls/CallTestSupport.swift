// The call layer without sockets: calls get a fake environment whose SIP user
// agent runs on a recording transport, fake media that hands back canned SDP,
// and fake browser connections that keep what they were told. All on an
// NIOAsyncTestingEventLoop, whose clock the test moves.
import Config
import Dialplan
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Records
import SDP
import SIP
import SIPTestSupport
import Signaling
@testable import Gateway
@testable import Media

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

final class FakeCallEnvironment: CallEnvironment, @unchecked Sendable {
    let testLoop = NIOAsyncTestingEventLoop()
    var loop: any EventLoop { testLoop }
    let logger = Logger(label: "call-test")
    let transport: RecordingTransport
    let userAgent: SIPUserAgent
    let config: TielineConfig
    /// What the calls wrote to their records.
    let records = FakeRecordStore()
    var recordStore: (any CallRecordStore)? { records }
    private let dialplan: DialplanHost
    /// The trunk, as the far end of every SIP exchange here.
    let trunk = SIPEndpoint(transport: .udp, address: try! SocketAddress(ipAddress: "127.0.0.1", port: 5070))
    let browsers = NIOLockedValueBox<[String: [FakeBrowser]]>([:])
    let medias = NIOLockedValueBox<[FakeMedia]>([])
    let calls = NIOLockedValueBox<[ObjectIdentifier: String]>([:])
    let ended = NIOLockedValueBox(0)
    /// When set, `makeMedia` fails (no ports).
    var mediaFails = false
    /// What every new media endpoint refuses (see `FakeMedia.refusals`).
    var mediaRefuses: Set<String> = []
    /// When set, `makeMedia` waits in `mediaGate` until `letMediaBeMade()`.
    var holdsMedia = false
    let mediaGate = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)

    /// A held `makeMedia` is waiting.
    var mediaIsHeld: Bool { mediaGate.withLockedValue { $0 != nil } }

    func letMediaBeMade() {
        mediaGate.withLockedValue { gate in
            gate?.resume()
            gate = nil
        }
    }

    /// - Parameter dialplan: the script's path; nil: the repository's default.lua.
    init(dialplan script: String? = nil) throws {
        config = try ConfigLoader.load(yaml: """
            sip: { public_address: 127.0.0.1, invite_timeout_s: 30 }
            media: { public_address: 192.0.2.1 }
            users:
              - { name: alice, password: alice-secret, extension: "1001" }
              - { name: bob, password: bob-secret, extension: "1002" }
            trunks:
              - { name: carrier, address: 127.0.0.1, port: 5070 }
              - { name: backup, address: 127.0.0.1, port: 5071 }
            routing: { home_country: "1", dids: { "+15550100": bob } }
            records: { backend: off }
            dialplan: \(script ?? repositoryRoot + "/dialplans/default.lua")
            """, file: repositoryRoot + "/config/call-test.yaml", environment: [:])
        transport = RecordingTransport(loop: testLoop)
        userAgent = SIPUserAgent(transport: transport, configuration: .init(publicAddress: "127.0.0.1"), logger: logger)
        dialplan = try DialplanHost(config: config, logger: logger)
    }

    func makeMedia(near peer: (any MediaEndpoint)?) async throws -> any MediaEndpoint {
        if holdsMedia {
            await withCheckedContinuation { continuation in mediaGate.withLockedValue { $0 = continuation } }
        }
        if mediaFails { throw MediaError.negotiation("no ports") }
        let media = FakeMedia()
        media.refusals.withLockedValue { $0 = mediaRefuses }
        medias.withLockedValue { $0.append(media) }
        return media
    }

    let relays = NIOLockedValueBox<[FakeRelay]>([])

    func makeRelay() -> EventLoopFuture<any RelayEndpoint> {
        if mediaFails { return loop.makeFailedFuture(MediaError.negotiation("no ports")) }
        let relay = FakeRelay(loop: loop)
        relays.withLockedValue { $0.append(relay) }
        return loop.makeSucceededFuture(relay)
    }

    func connections(of user: String) -> [any BrowserConnection] { browsers.withLockedValue { $0[user] ?? [] } }
    func makeDialplanRun(_ call: DialplanCall, log: Logger) -> DialplanRun { dialplan.makeRun(call, log: log) }
    func endpoint(for trunk: TrunkConfig) -> EventLoopFuture<SIPEndpoint> {
        loop.makeCompletedFuture {
            SIPEndpoint(transport: .udp, address: try SocketAddress(ipAddress: "127.0.0.1", port: trunk.port))
        }
    }
    func callStarted(_ call: AnyObject) { calls.withLockedValue { $0[ObjectIdentifier(call)] = "\(type(of: call))" } }
    func callEnded(_ call: AnyObject) {
        calls.withLockedValue { $0[ObjectIdentifier(call)] = nil }
        ended.withLockedValue { $0 += 1 }
    }

    func login(_ user: String) -> FakeBrowser {
        let browser = FakeBrowser(user: user)
        browsers.withLockedValue { $0[user, default: []].append(browser) }
        return browser
    }

    var callsInProgress: Int { calls.withLockedValue { $0.count } }

    /// Runs `body` on the loop.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await testLoop.executeInContext(body)
    }

    func deliver(_ text: String) async throws {
        try await onLoop { self.transport.deliver(text, from: self.trunk) }
    }

    /// Lets tasks and the loop run until `condition` holds (bounded: a stuck call fails the test, never hangs it).
    func settle(until condition: @escaping @Sendable () -> Bool) async -> Bool {
        for _ in 0..<2000 {
            await testLoop.run()
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return condition()
    }

    func advance(_ amount: TimeAmount) async { await testLoop.advanceTime(by: amount) }

    /// No call, dialog or INVITE session left behind.
    func leakFree() async throws -> Bool {
        let counts = try await onLoop { self.userAgent.counts }
        return callsInProgress == 0 && counts.dialogs == 0 && counts.incomingInvites == 0 && counts.outgoingInvites == 0
    }
}

/// A relay's media that answers with fixed descriptions and remembers what it was asked.
final class FakeRelay: RelayEndpoint, @unchecked Sendable {
    let calls = NIOLockedValueBox<[String]>([])
    let closed = NIOLockedValueBox(false)
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    static func description(port: UInt16, codec: SDPAudioCodec = .pcmu) -> SessionDescription {
        PlainAudioDescription(address: "192.0.2.1", port: port, codecs: [codec]).sessionDescription(sessionID: 7,
                                                                                                    sessionVersion: 1)
    }

    func calleeOffer(callerOffer: SessionDescription, address: String,
                     allowed: [PhoneCodec]) throws -> SessionDescription {
        calls.withLockedValue { $0.append("calleeOffer \(allowed.map(\.rawValue).joined(separator: ","))") }
        return Self.description(port: 40002)
    }

    func calleeOfferWithoutCallerOffer(address: String, allowed: [PhoneCodec]) throws -> SessionDescription {
        calls.withLockedValue { $0.append("calleeOfferWithoutCallerOffer \(allowed.map(\.rawValue).joined(separator: ","))") }
        return Self.description(port: 40002)
    }

    func acceptCalleeAnswer(_ answer: SessionDescription, address: String, attempt: Int) throws -> SessionDescription {
        calls.withLockedValue { $0.append("acceptCalleeAnswer") }
        return Self.description(port: 40000)
    }

    func acceptCallerAnswer(_ answer: SessionDescription) throws {
        calls.withLockedValue { $0.append("acceptCallerAnswer") }
    }

    func answerReoffer(_ offer: SessionDescription, from side: RelaySide, address: String) throws -> SessionDescription {
        calls.withLockedValue { $0.append("answerReoffer \(side)") }
        return Self.description(port: side == .caller ? 40000 : 40002)
    }

    func currentDescription(_ side: RelaySide, address: String) throws -> SessionDescription {
        calls.withLockedValue { $0.append("currentDescription \(side)") }
        return Self.description(port: side == .caller ? 40000 : 40002)
    }

    func continueSession(_ side: RelaySide, sessionID: UInt64, after version: UInt64) {
        calls.withLockedValue { $0.append("continueSession \(side) \(sessionID) \(version)") }
    }

    func close(reason: String) -> EventLoopFuture<MediaStatistics> {
        closed.withLockedValue { $0 = true }
        return loop.makeSucceededFuture(MediaStatistics())
    }
}

/// Media that answers with fixed descriptions and remembers what it was asked.
final class FakeMedia: MediaEndpoint, @unchecked Sendable {
    let events: AsyncStream<MediaEvent>
    let sink: AsyncStream<MediaEvent>.Continuation
    let log = NIOLockedValueBox<[String]>([])
    let closed = NIOLockedValueBox(false)
    let closes = NIOLockedValueBox(0)
    /// The steps that throw, by name: "answerPhoneOffer", "acceptBrowserAnswer", "answerPhoneReoffer", "join".
    let refusals = NIOLockedValueBox<Set<String>>([])
    var version = LocalDescriptionVersion(sessionID: 42)

    init() { (events, sink) = AsyncStream.makeStream(of: MediaEvent.self) }

    private func note(_ entry: String) { log.withLockedValue { $0.append(entry) } }
    private func check(_ step: String) throws {
        if refusals.withLockedValue({ $0.contains(step) }) { throw MediaError.negotiation("\(step) refused") }
    }
    var calls: [String] { log.withLockedValue { $0 } }

    static func plain(_ direction: SDPDirection, port: UInt16 = 30000) -> SessionDescription {
        PlainAudioDescription(address: "192.0.2.1", port: port, codecs: [.pcmu],
                              telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20, direction: direction)
            .sessionDescription(sessionID: 42, sessionVersion: 0)
    }

    func answerBrowserOffer(_ offer: WebRTCAudioDescription) async throws -> SessionDescription {
        note("answerBrowserOffer")
        return Self.plain(.sendrecv, port: 40000)
    }
    func browserOffer(setup: SDPSetup, telephoneEventPayloadType: UInt8) -> SessionDescription {
        note("browserOffer")
        return Self.plain(.sendrecv, port: 40000)
    }
    func acceptBrowserAnswer(_ answer: SessionDescription) async throws {
        note("acceptBrowserAnswer")
        try check("acceptBrowserAnswer")
    }
    func phoneOffer(address: String, codecs: [PhoneCodec], telephoneEventPayloadType: UInt8,
                    packetTime: Int, encryption: PhoneEncryption) -> SessionDescription {
        note(encryption == .off ? "phoneOffer" : "phoneOffer \(encryption)")
        return version.stamp(Self.plain(.sendrecv))
    }
    func acceptPhoneAnswer(_ answer: SessionDescription) async throws { note("acceptPhoneAnswer") }
    func answerPhoneOffer(_ offer: SessionDescription, address: String,
                          preference: [PhoneCodec], encryption: PhoneEncryption) async throws -> SessionDescription {
        note(encryption == .off ? "answerPhoneOffer" : "answerPhoneOffer \(encryption)")
        try check("answerPhoneOffer")
        return version.stamp(Self.plain(.sendrecv))
    }
    func answerPhoneReoffer(_ offer: SessionDescription, address: String) async throws -> SessionDescription {
        let direction = try PlainAudioDescription(offer).direction.reversed
        note("answerPhoneReoffer \(direction.rawValue)")
        try check("answerPhoneReoffer")
        return version.stamp(Self.plain(direction))
    }
    func currentPhoneDescription(address: String) async throws -> SessionDescription {
        version.stamp(Self.plain(.sendrecv))
    }
    func phoneDescription(after version: UInt64, address: String) async throws -> SessionDescription {
        note("phoneDescription after \(version)")
        self.version.skip(past: version)
        return self.version.stamp(Self.plain(.sendrecv))
    }
    /// Refused when `refusals` has "hold".
    func hold(address: String) async throws -> SessionDescription {
        note("hold")
        try check("hold")
        return version.stamp(Self.plain(.sendonly))
    }
    func resume(address: String) async throws -> SessionDescription {
        note("resume")
        try check("hold")
        return version.stamp(Self.plain(.sendrecv))
    }
    func acceptPhoneReanswer(_ answer: SessionDescription) async throws {
        note("acceptPhoneReanswer \(try PlainAudioDescription(answer).direction.rawValue)")
    }
    func transferOffer(address: String, encryption: PhoneEncryption) async throws -> SessionDescription {
        note("transferOffer")
        return version.stamp(Self.plain(.sendrecv))
    }
    /// Refused when `refusals` has "transfer".
    func answerReplacement(_ offer: SessionDescription, address: String) async throws -> SessionDescription {
        note("answerReplacement \(try PlainAudioDescription(offer).port)")
        try check("transfer")
        return version.stamp(Self.plain(.sendrecv))
    }
    /// Refused when `refusals` has "transfer".
    func acceptTransferAnswer(_ answer: SessionDescription) async throws {
        note("acceptTransferAnswer \(try PlainAudioDescription(answer).port)")
        try check("transfer")
    }
    /// False (no telephone-event negotiated) when `refusals` has "dtmf".
    func sendDTMF(_ digits: String, milliseconds: Int) async throws -> Bool {
        note("dtmf \(digits)")
        return !refusals.withLockedValue { $0.contains("dtmf") }
    }
    func join(_ other: any MediaEndpoint) async throws {
        note("join")
        try check("join")
    }

    func unjoin() {
        note("unjoin")
    }

    func startApplication(loop: any EventLoop) async throws -> any CallApplication {
        note("startApplication")
        return FakeApplication(loop: loop)
    }
    func statistics() async throws -> MediaStatistics { MediaStatistics() }
    func close(reason: String) async {
        closed.withLockedValue { $0 = true }
        closes.withLockedValue { $0 += 1 }
        sink.yield(.ended(reason: reason))
        sink.finish()
    }

    /// The media plane failing by itself (consent lost, a DTLS alert).
    func fail(_ reason: String) {
        sink.yield(.ended(reason: reason))
    }

    var isClosed: Bool { closed.withLockedValue { $0 } }
    var closeCount: Int { closes.withLockedValue { $0 } }
}

final class FakeApplication: CallApplication, @unchecked Sendable {
    let loop: any EventLoop
    let actions = NIOLockedValueBox<[String]>([])
    init(loop: any EventLoop) { self.loop = loop }
    func echo() { actions.withLockedValue { $0.append("echo") } }
    func play(frequency: Double, duration: Double, done: @escaping () -> Void) {
        actions.withLockedValue { $0.append("play \(Int(frequency))") }
        let done = LoopBound(done)
        loop.execute { done.value() }
    }
    func collectDigits(max: Int, timeout: Double, terminator: String?, done: @escaping (String) -> Void) {
        actions.withLockedValue { $0.append("collect \(max)") }
        let done = LoopBound(done)
        loop.execute { done.value("") }
    }
    func close() { actions.withLockedValue { $0.append("close") } }
}

/// A logged-in browser connection that keeps every message.
final class FakeBrowser: BrowserConnection, @unchecked Sendable {
    let user: String
    let messages = NIOLockedValueBox<[ServerMessage]>([])
    /// Calls rung here, with what rang them.
    let rung = NIOLockedValueBox<[(id: String, control: any CallControl)]>([])
    init(user: String) { self.user = user }
    var description: String { "fake(\(user))" }

    func send(_ message: ServerMessage) { messages.withLockedValue { $0.append(message) } }
    func ring(_ id: String, from: String, fromName: String?, to: String, sdp: String, control: any CallControl) -> Bool {
        rung.withLockedValue { $0.append((id, control)) }
        send(.incoming(call: id, from: from, fromName: fromName, to: to, sdp: sdp))
        return true
    }
    func confirmAnswer(_ id: String) { send(.answered(call: id, sdp: nil)) }

    /// The message types so far, in order ("ringing", "hangup 486" ...).
    var said: [String] {
        messages.withLockedValue { $0 }.map { message in
            switch message {
            case .hangup(_, let code, _): "hangup \(code)"
            case .error(let code, _, _): "error \(code)"
            case .dtmf(_, let digit): "dtmf \(digit)"
            default: String(message.json.split(separator: "\"")[3])
            }
        }
    }
}

/// Keeps what the calls write to their records.
final class FakeRecordStore: CallRecordStore, @unchecked Sendable {
    let started = NIOLockedValueBox<[CallRecord]>([])
    let answered = NIOLockedValueBox<[UUID]>([])
    let ended = NIOLockedValueBox<[(id: UUID, status: Int, reason: String)]>([])

    func open() async throws(RecordStoreError) {}
    func callStarted(_ record: CallRecord) { started.withLockedValue { $0.append(record) } }
    func callRouted(_ recordID: UUID, to: String?, trunk: String?, sipCallID: String?) {}
    func callAnswered(_ recordID: UUID, at: Date, codecs: CallCodecs) { answered.withLockedValue { $0.append(recordID) } }
    func callEnded(_ recordID: UUID, at: Date, status: Int, reason: String, stats: CallStats, codecs: CallCodecs) {
        ended.withLockedValue { $0.append((recordID, status, reason)) }
    }
    func flush() async throws(RecordStoreError) {}
    func markUnfinishedEndedByRestart(instance: String) async throws(RecordStoreError) -> Int { 0 }
    func recent(limit: Int, instance: String?) async throws(RecordStoreError) -> [CallRecord] { [] }
    func close() async {}

    /// The ends written, as "status reason".
    var ends: [String] { ended.withLockedValue { $0 }.map { "\($0.status) \($0.reason)" } }
}

/// A browser's offer; the fake media does not read it beyond the parse.
/// A browser's WebRTC offer (Opus, a sha-256 fingerprint), as the signaling layer checks it.
let browserOfferSDP = WebRTCAudioParameters(
    sessionID: 7, sessionVersion: 1, address: "192.0.2.9", port: 9, iceUfrag: "brws", icePwd: "browserICEpassword1234567",
    fingerprint: SDPFingerprint(hashFunction: "sha-256", bytes: Array(repeating: 0xAB, count: 32)),
    setup: .actpass, mid: "0", codecs: [.opus(payloadType: 111)],
    telephoneEvent: .telephoneEvent(payloadType: 126, clockRate: 48000), direction: .sendrecv, ssrc: 1234, cname: "browser")
    .sessionDescription().serialize()

extension SessionDescription {
    /// The description with "\n" line ends, as the SIP texts here are written (sent as CRLF).
    var text: String { serialize().replacingOccurrences(of: "\r\n", with: "\n") }
}
