import Config
import Media
import NIOCore
import Signaling
import SDP
import SIP

/// Where a call to a browser user comes from: a trunk's INVITE, or another
/// browser's call through the dialplan. `IncomingBrowserCall` rings the
/// user's connections and speaks to the caller only through this.
/// Confined to the gateway's loop.
protocol CallerLeg: AnyObject {
    /// The caller's plain RTP/AVP offer.
    var offer: String { get }
    var callerNumber: String { get }
    var callerName: String? { get }
    var calledNumber: String { get }
    var sipCallID: String? { get }
    var trunkName: String? { get }
    var direction: String { get }
    /// The address our answer to `offer` names for our media: what the
    /// caller can reach (the public address for a trunk; for another
    /// browser's session, joined in process, an address never used).
    var answerAddress: String { get }
    /// The caller's media when it is in this process (another browser's
    /// call): the callee's media is made next to it and joined to it.
    var mediaPeer: (any MediaEndpoint)? { get }
    /// What the caller hears when no browser answered in time: 480 on SIP
    /// (RFC 3261 §21.4.18), 408 to a browser (signaling-protocol.md).
    var noAnswer: (code: Int, reason: String?) { get }
    /// The caller gave up before the answer.
    var onCancelled: (() -> Void)? { get set }
    /// Still waiting for an answer or a rejection.
    var isPending: Bool { get }
    /// The callee's side rings (180).
    func ringing()
    /// Answers with our SDP; false when the caller is already gone. Later,
    /// `ended` says the caller hung up, and `reoffer` answers a new offer of
    /// the caller's (a SIP re-INVITE or UPDATE).
    func answer(sdp: [UInt8], ended: @escaping (String) -> Void,
                reoffer: @escaping (InDialogOffer) -> Void) -> Bool
    func reject(_ code: Int, reason: String?)
    /// The callee hung up after the answer.
    func hangUp()
    /// The answering browser's digits toward the caller, through `media`
    /// or the caller's own way of taking digits (a trunk's `dtmf`).
    func playDTMF(_ digits: String, milliseconds: Int, media: any MediaEndpoint, loop: any EventLoop,
                  for client: any BrowserConnection, call: String)
    /// Digits the caller sends outside the media (SIP INFO), after the answer.
    var onDTMF: ((Character) -> Void)? { get set }
    /// The caller's SIP dialog once answered (a trunk's call): where our
    /// own offers go (hold, resume).
    var dialog: Dialog? { get }
    /// The caller's REFER (a blind transfer of the browser, RFC 3515).
    var onRefer: ((IncomingRefer) -> Void)? { get set }
    /// An offerless INVITE (late offer): the codecs our offer in the 200
    /// names, and the answer its ACK brings (empty when it had none).
    var lateOfferCodecs: [PhoneCodec] { get }
    var onLateAnswer: (([UInt8]) -> Void)? { get set }
    /// An INVITE with Replaces (RFC 3891) for the caller's dialog.
    var onReplaced: ((IncomingInvite) -> Void)? { get set }
    /// SRTP toward the caller (a trunk's `media_encryption`).
    var mediaEncryption: PhoneEncryption { get }
    /// A transfer connected: `dialog` is the far end from now on, and the
    /// caller's own dialog is ended with BYE.
    func transferred(to dialog: Dialog, trunk: TrunkConfig)
}

extension CallerLeg {
    func playDTMF(_ digits: String, milliseconds: Int, media: any MediaEndpoint, loop: any EventLoop,
                  for client: any BrowserConnection, call: String) {
        media.playDTMF(digits, milliseconds: milliseconds, for: client, call: call)
    }
    var onDTMF: ((Character) -> Void)? {
        get { nil }
        set {}
    }
    var dialog: Dialog? { nil }
    var onRefer: ((IncomingRefer) -> Void)? {
        get { nil }
        set {}
    }
    var lateOfferCodecs: [PhoneCodec] { [.pcmu, .pcma, .g722] }
    var onLateAnswer: (([UInt8]) -> Void)? {
        get { nil }
        set {}
    }
    var onReplaced: ((IncomingInvite) -> Void)? {
        get { nil }
        set {}
    }
    func transferred(to dialog: Dialog, trunk: TrunkConfig) { dialog.bye() }
    var mediaEncryption: PhoneEncryption { .off }
}

/// A trunk's INVITE as the caller.
final class SIPCallerLeg: CallerLeg {
    let invite: IncomingInvite
    /// The caller's trunk, then the trunk of the far end a transfer reached.
    private(set) var trunk: TrunkConfig?
    let calledNumber: String
    let answerAddress: String
    private(set) var dialog: Dialog?
    var onDTMF: ((Character) -> Void)?
    var onRefer: ((IncomingRefer) -> Void)?
    var onLateAnswer: (([UInt8]) -> Void)?
    var onReplaced: ((IncomingInvite) -> Void)?
    private var ended: ((String) -> Void)?
    private var reoffer: ((InDialogOffer) -> Void)?

    init(invite: IncomingInvite, trunk: TrunkConfig?, calledNumber: String, answerAddress: String) {
        self.invite = invite
        self.trunk = trunk
        self.calledNumber = calledNumber
        self.answerAddress = answerAddress
    }

    var offer: String { String(decoding: invite.request.body, as: UTF8.self) }
    var callerNumber: String {
        let from = invite.request.headers.from
        return from?.uri.user ?? from?.uri.host ?? "unknown"
    }
    var callerName: String? { invite.request.headers.from?.displayName }
    var sipCallID: String? { invite.request.headers.callID }
    var trunkName: String? { trunk?.name }
    var direction: String { "trunk-to-browser" }
    var mediaPeer: (any MediaEndpoint)? { nil }
    var noAnswer: (code: Int, reason: String?) { (480, "No Answer") }
    var mediaEncryption: PhoneEncryption { trunk?.phoneEncryption ?? .off }
    var lateOfferCodecs: [PhoneCodec] {
        let configured = trunk?.codecs.compactMap { PhoneCodec(name: $0.rawValue) } ?? []
        return configured.isEmpty ? [.pcmu, .pcma, .g722] : configured
    }
    var onCancelled: (() -> Void)? {
        get { invite.onCancelled }
        set { invite.onCancelled = newValue }
    }
    var isPending: Bool { invite.state == .pending }

    func ringing() { invite.provisional(180) }

    func answer(sdp: [UInt8], ended: @escaping (String) -> Void,
                reoffer: @escaping (InDialogOffer) -> Void) -> Bool {
        guard let dialog = invite.answer(body: sdp) else { return false }
        self.ended = ended
        self.reoffer = reoffer
        attach(dialog)
        if invite.isLateOffer { dialog.onAckAnswer = { [weak self] body in self?.onLateAnswer?(body) } }
        return true
    }

    private func attach(_ dialog: Dialog) {
        self.dialog = dialog
        dialog.onTerminated = { [self] reason in
            guard self.dialog === dialog else { return }
            self.dialog = nil
            ended?(reason == .remoteBye ? "the caller hung up" : "\(reason)")
        }
        dialog.onOffer = { [self] offer in reoffer?(offer) }
        dialog.onRefer = { [self] refer in
            guard self.dialog === dialog, let onRefer else { return refer.reject(603, reason: "Decline") }
            onRefer(refer)
        }
        dialog.takeInfoDTMF { [weak self] digit in self?.onDTMF?(digit) }
        dialog.onReplaced = { [self] invite in
            guard self.dialog === dialog, let onReplaced else { return invite.reject(603, reason: "Decline") }
            onReplaced(invite)
        }
    }

    func transferred(to dialog: Dialog, trunk: TrunkConfig) {
        if let old = self.dialog {
            old.onTerminated = nil
            old.onOffer = nil
            old.onRefer = nil
            old.onReplaced = nil
            old.bye()
        }
        self.trunk = trunk
        attach(dialog)
    }

    func playDTMF(_ digits: String, milliseconds: Int, media: any MediaEndpoint, loop: any EventLoop,
                  for client: any BrowserConnection, call: String) {
        guard let dialog else { return media.playDTMF(digits, milliseconds: milliseconds, for: client, call: call) }
        media.playDTMF(digits, milliseconds: milliseconds, mode: trunk?.dtmf ?? .auto, dialog: dialog, loop: loop,
                       for: client, call: call)
    }

    func reject(_ code: Int, reason: String?) {
        guard invite.state == .pending else { return }
        invite.reject(code, reason: reason)
    }

    /// Our BYE: the dialog's end is not reported back to the call, which
    /// is already ending with its own reason.
    func hangUp() {
        ended = nil
        reoffer = nil
        onRefer = nil
        onLateAnswer = nil
        onReplaced = nil
        dialog?.onTerminated = nil
        dialog?.bye()
        dialog = nil
    }
}
