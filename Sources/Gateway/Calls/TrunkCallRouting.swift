import Config
import Dialplan
import Foundation
import SIP
import Signaling

// What a call looks like to the dialplan, for both directions.
extension DialplanCall {
    /// A browser user's call: `to` as dialled, the browser's X- headers.
    init(browser request: BrowserCallRequest) {
        self.init(from: request.user, to: request.to, user: request.user, direction: .fromBrowser,
                  headers: request.headers, id: "\(request.user)/\(request.id)")
    }

    /// A trunk's call: `to` is the called number (`CalledNumber`: the DID), `from`
    /// the caller's number, headers the request's X- headers.
    init(trunkInvite request: SIPRequest, trunk: String?, calledNumber: String) {
        let from = request.headers.from
        var headers: [String: String] = [:]
        for (name, value) in request.headers where name.lowercased().hasPrefix("x-") && headers[name] == nil {
            headers[name] = value
        }
        self.init(from: from?.uri.user ?? "", to: calledNumber, direction: .fromTrunk,
                  sourceTrunk: trunk, displayName: from?.displayName, headers: headers,
                  id: request.headers.callID ?? "")
    }
}

extension Gateway {
    /// A call from a trunk, with media: the dialplan decides which user it
    /// rings. Calls from trunks go out to a trunk or SIP URI again only when
    /// the script says `relay = true` for that bridge (no open relay).
    func routeTrunkCall(_ invite: IncomingInvite, trunk: TrunkConfig?) {
        var log = logger
        log[metadataKey: "sip-call"] = "\(invite.request.headers.callID ?? "?")"
        let run = dialplan.makeRun(DialplanCall(trunkInvite: invite.request, trunk: trunk?.name,
                                                calledNumber: calledNumber(invite.request, trunk: trunk)), log: log)
        var step = run.start()
        while true {
            switch step {
            case .bridge(.user(let user), _):
                let caller = SIPCallerLeg(invite: invite, trunk: trunk, calledNumber: calledNumber(invite.request, trunk: trunk),
                                          answerAddress: config.media.publicAddress)
                IncomingBrowserCall(environment: self, caller: caller, user: user).start()
                return
            case .bridge(let target, let options) where options.relay && target.isSIP:
                return SIPRelayCall(environment: self, invite: invite, trunk: trunk,
                                    calledNumber: calledNumber(invite.request, trunk: trunk), run: run, logger: log)
                    .start(step)
            case .bridge(.trunk, _), .bridge(.uri, _):
                step = run.resume(.bridged(code: 403, reason: "calls from trunks are not sent out again",
                                           answered: false))
            case .hangup(let code, let reason):
                if code == 404, config.routing.testAnswer { return answerForTest(invite, trunk: trunk) }
                return refuse(invite, trunk: trunk, code: code, reason: reason)
            case .finished:
                if config.routing.testAnswer { return answerForTest(invite, trunk: trunk) }
                let (code, reason) = run.fallbackResponse
                return refuse(invite, trunk: trunk, code: code, reason: reason)
            case .failed(let error):
                log.error("dialplan failed: \(error)")
                return refuse(invite, trunk: trunk, code: 500, reason: "Dialplan Error")
            case .answer, .play, .echo, .collectDigits:
                return refuse(invite, trunk: trunk, code: 501, reason: "Not Implemented")
            }
        }
    }

    /// A trunk call the dialplan turned away still leaves a record.
    private func refuse(_ invite: IncomingInvite, trunk: TrunkConfig?, code: Int, reason: String?) {
        invite.reject(code, reason: reason)
        let recorder = CallRecorder(store: recordStore, instance: config.records.instanceName,
                                    callID: invite.request.headers.callID ?? "",
                                    direction: .trunkToBrowser, from: invite.request.headers.from?.uri.user ?? "",
                                    to: calledNumber(invite.request, trunk: trunk), user: nil, trunk: trunk?.name,
                                    sipCallID: invite.request.headers.callID)
        recorder.ended(status: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code), media: nil)
    }
}
