import Config
import NIOCore
import SDP
import SIP

// Two calls without media, each for one documented use; no browser call
// goes through them.
//
// - `TestAnswerCall`: `routing.test_answer` (docs/configuration.md) answers
//   trunk calls the dialplan finds nobody for, so SIP load tests (`make
//   bench`) and interop checks get a 200 and a dialog to BYE.
// - `OutboundCall`: `tieline call` (docs/operations.md), a trunk setup aid
//   that places one call, holds it and hangs up.
//
// Both offer or answer `SignallingOnlySDP`: G.711 on the discard port, so
// no media socket or port of the media range is taken for them.

/// A trunk's call answered with `SignallingOnlySDP`, up until the far end hangs up.
final class TestAnswerCall: @unchecked Sendable {
    private unowned let gateway: Gateway
    let invite: IncomingInvite
    let trunk: TrunkConfig?
    private var dialog: Dialog?

    init(gateway: Gateway, invite: IncomingInvite, trunk: TrunkConfig?) {
        self.gateway = gateway
        self.invite = invite
        self.trunk = trunk
    }

    func start() {
        invite.onCancelled = { [self] in gateway.inboundEnded(self, answered: false) }
        invite.provisional(180)
        let sdp = SignallingOnlySDP.make(address: gateway.config.media.publicAddress)
        guard let dialog = invite.answer(body: sdp) else {
            gateway.inboundEnded(self, answered: false)
            return
        }
        self.dialog = dialog
        gateway.inboundAnswered()
        dialog.onTerminated = { [self] reason in
            gateway.logger.info("inbound call \(dialog.callID) ended: \(reason)")
            gateway.inboundEnded(self, answered: true)
        }
    }
}

/// A call we place to a trunk for `tieline call`: INVITE (with digest
/// answers), then a dialog until either side hangs up. Futures report the
/// answer and the end.
public final class OutboundCall: @unchecked Sendable {
    public enum End: Sendable, Equatable {
        case failed(CallFailure)
        case hungUp(DialogEnd)
    }

    private unowned let gateway: Gateway
    let trunk: TrunkConfig
    let endpoint: SIPEndpoint
    let number: String
    let callerID: String?
    let sdp: [UInt8]?
    private var session: OutgoingInvite?
    public private(set) var dialog: Dialog?
    private let answeredPromise: EventLoopPromise<SIPResponse>
    private let endedPromise: EventLoopPromise<End>
    /// Fulfilled with the 2xx, or failed with the `CallFailure`.
    public var answered: EventLoopFuture<SIPResponse> { answeredPromise.futureResult }
    /// Fulfilled once, when the call is over for any reason.
    public var ended: EventLoopFuture<End> { endedPromise.futureResult }

    init(gateway: Gateway, trunk: TrunkConfig, endpoint: SIPEndpoint, number: String, callerID: String?, sdp: [UInt8]?) {
        self.gateway = gateway
        self.trunk = trunk
        self.endpoint = endpoint
        self.number = number
        self.callerID = callerID
        self.sdp = sdp
        answeredPromise = gateway.eventLoop.makePromise()
        endedPromise = gateway.eventLoop.makePromise()
    }

    func start() {
        let body = sdp ?? SignallingOnlySDP.make(address: gateway.config.media.publicAddress)
        let parameters = gateway.inviteParameters(trunk: trunk, endpoint: endpoint, number: number,
                                                  callerID: callerID, body: body)
        session = gateway.userAgent.invite(parameters) { [self] event in
            switch event {
            case .provisional:
                break
            case .answered(let response, let dialog):
                self.dialog = dialog
                gateway.outboundAnswered()
                dialog.onTerminated = { [self] reason in
                    gateway.outboundEnded(self, failed: false)
                    endedPromise.succeed(.hungUp(reason))
                }
                answeredPromise.succeed(response)
            case .failed(let failure):
                gateway.logger.info("call to \(number) via \(trunk.name) failed: \(failure)")
                gateway.outboundEnded(self, failed: true)
                answeredPromise.fail(failure)
                endedPromise.succeed(.failed(failure))
            }
        }
    }

    /// CANCEL before the answer, BYE after.
    public func hangup() {
        gateway.eventLoop.execute { [self] in
            if let dialog { dialog.bye() } else { session?.cancel() }
        }
    }
}

/// A well-formed G.711 description with no socket behind it: port 9
/// (discard), where RTP toward it is simply lost. Only the two calls above
/// use it.
enum SignallingOnlySDP {
    static func make(address: String, sessionID: UInt64 = UInt64.random(in: 1...UInt64(Int64.max))) -> [UInt8] {
        PlainAudioDescription(address: address, port: 9, codecs: [.pcmu, .pcma],
                              telephoneEvents: [.telephoneEvent(payloadType: 101)], ptime: 20, direction: .sendrecv)
            .sessionDescription(sessionID: sessionID, sessionVersion: 1)
            .serialize().utf8.map { $0 }
    }
}
