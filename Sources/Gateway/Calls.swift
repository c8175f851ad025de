import NIOCore
import SIP

/// A call from a trunk. Until the dialplan and media plane exist, the
/// route is the simplest one: ring, then answer with a G.711 description,
/// and stay up until the far end hangs up.
final class InboundCall: @unchecked Sendable {
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
        let sdp = PlaceholderSDP.make(address: gateway.config.media.publicAddress, port: gateway.allocateMediaPort())
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

/// A call we place to a trunk: INVITE (with digest answers), then a dialog
/// until either side hangs up. Futures report the answer and the end.
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
        let body = sdp ?? PlaceholderSDP.make(address: gateway.config.media.publicAddress,
                                              port: gateway.allocateMediaPort())
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
