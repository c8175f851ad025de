import Config
import Dialplan
import Logging
import NIOCore
import SIP

/// The browser's `transfer` (an addition to version 1 of the protocol): the
/// far end of an answered call on a trunk is asked, with REFER (RFC 3515),
/// to call the target itself, and the gateway leaves the call once the far
/// end reports the new call answered (RFC 5589 §6, the transferor's side).
///
/// The target goes through the dialplan first, as a call of the browser's
/// user, so the rules for what that user may dial (and the toll-fraud
/// guard) decide; the REFER names where the dialplan sends it: a number on
/// the call's own trunk, or a SIP URI. A target the dialplan sends to
/// another trunk or to a user would need the gateway to bridge two SIP
/// legs itself, which it does not do yet (501, and the call goes on).
enum BrowserTransfer {
    /// Where the far end is to call `number`, as the dialplan routes it.
    static func referTarget(environment: any CallEnvironment, user: String, callID: String, number: String,
                            trunk: TrunkConfig, logger: Logger) -> Result<SIPURI, TransferFailure> {
        let call = DialplanCall(from: user, to: number, user: user, direction: .fromBrowser, headers: [:],
                                id: "\(callID)/transfer")
        let run = environment.makeDialplanRun(call, log: logger)
        switch run.start() {
        case .bridge(.trunk(let name, let routed), _):
            guard name == trunk.name else {
                return .failure(TransferFailure(code: 501, reason: "the dialplan sends \(number) via trunk \(name), "
                    + "not this call's trunk \(trunk.name)"))
            }
            return .success(SIPURI(scheme: trunk.transport == .tls ? "sips" : "sip", user: routed, host: trunk.address,
                                   port: trunk.port == SIPTransport(trunk.transport).defaultPort ? nil : trunk.port))
        case .bridge(.uri(let text), _):
            guard let uri = try? SIPURI.parse(text), uri.isSIP else {
                return .failure(TransferFailure(code: 416, reason: "not a SIP URI: \(text)"))
            }
            return .success(uri)
        case .bridge(.user(let name), _):
            return .failure(TransferFailure(code: 501, reason: "a transfer to the user \(name) is not supported yet"))
        case .hangup(let code, let reason):
            return .failure(TransferFailure(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code)))
        case .finished:
            let (code, reason) = run.fallbackResponse
            return .failure(TransferFailure(code: code, reason: reason ?? SIPResponse.defaultReasonPhrase(code)))
        case .failed(let error):
            logger.error("dialplan failed for a transfer: \(error)")
            return .failure(TransferFailure(code: 500, reason: "Dialplan Error"))
        case .answer, .play, .echo, .collectDigits:
            return .failure(TransferFailure(code: 501, reason: "a transfer cannot go to the dialplan's own media"))
        }
    }

    /// Sends the REFER in `dialog`; `done` runs once, on the loop: the far
    /// end's new call was answered, or why the transfer failed (the call
    /// goes on then). `accepted` runs when the far end took the REFER.
    static func refer(_ dialog: Dialog, to target: SIPURI, logger: Logger, accepted: @escaping () -> Void,
                      done: @escaping (Result<Void, TransferFailure>) -> Void) -> OutgoingRefer? {
        logger.info("asking the far end to transfer the call to \(target)")
        return dialog.refer(to: target) { progress in
            switch progress {
            case .accepted: accepted()
            case .trying(let code): logger.debug("transfer: the far end's new call is at \(code)")
            case .succeeded: done(.success(()))
            case .failed(let code, let reason): done(.failure(TransferFailure(code: code, reason: reason)))
            }
        }
    }

    /// Refer-To for an attended transfer (RFC 5589 §7): the far end of the
    /// other call, with a Replaces (RFC 3891) naming that call's dialog as
    /// its far end sees it (to-tag theirs, from-tag ours).
    static func replacesTarget(_ dialog: Dialog) -> SIPURI {
        var uri = dialog.remoteTarget
        let value = "\(dialog.id.callID);to-tag=\(dialog.id.remoteTag);from-tag=\(dialog.id.localTag)"
        uri.headers = [SIPURI.Header(name: "Replaces", value: percentEncoded(value))]
        return uri
    }

    /// RFC 3261 §19.1.1: a header value in a URI escapes all but unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        let unreserved = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()".utf8)
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) { out.unicodeScalars.append(Unicode.Scalar(byte)) }
            else { out += String(format: "%%%02X", byte) }
        }
        return out
    }
}

/// A browser's call whose far end is a SIP dialog another call's attended
/// transfer can name; used on the calls' loop.
protocol AttendedTransferParty: AnyObject {
    var loop: any EventLoop { get }
    /// The far end's dialog, when talking to a trunk and no transfer runs.
    var transferDialog: Dialog? { get }
    /// The browser is told `transferred` and `hangup` 200; we leave with BYE.
    func transferredAway()
    /// The far end as the gateway's own bridge needs it (`TransferBridge`),
    /// when talking to a SIP dialog and no transfer or join runs.
    var bridgeLeg: BridgeLeg? { get }
    /// While the gateway joins this call to another: other transfers are
    /// refused (491) and holds wait for nothing (the call is not answered).
    var isJoining: Bool { get set }
    /// The gateway's bridge took the far end's dialog: the browser is told
    /// `transferred` and `hangup` 200, the media closes, no BYE is sent.
    func handedOver()
}
