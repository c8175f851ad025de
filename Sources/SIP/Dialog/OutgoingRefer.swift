import NIOCore

/// How a REFER of ours (RFC 3515) goes: accepted (2xx), then the far end's
/// NOTIFYs, each a `message/sipfrag` status line of the call it places
/// (§2.4.5), until a final one; or refused.
public enum ReferProgress: Sendable, Equatable {
    /// 202 Accepted (or another 2xx).
    case accepted
    /// A provisional status of the new call (100 Trying, 180 Ringing ...).
    case trying(Int)
    /// The new call was answered: the transfer is done.
    case succeeded(Int)
    /// The REFER was refused (its code), the new call failed (the
    /// sipfrag's), or the subscription ended without a final status.
    case failed(Int, String)
}

/// A REFER we sent in a dialog and its implicit subscription (RFC 3515
/// §2.4.4): the NOTIFYs are answered 200 and reported until one carries a
/// final status or says terminated; nothing final within `timeout` is a
/// failure (408). Reports end with the first `succeeded` or `failed`.
/// Confined to the user agent's loop.
public final class OutgoingRefer: @unchecked Sendable {
    private weak var dialog: Dialog?
    private var onProgress: ((ReferProgress) -> Void)?
    private var timer: SIPTimer?
    /// The REFER's CSeq number: the `id` its NOTIFYs' Event names (§2.4.6).
    public let cseq: UInt32

    init(dialog: Dialog, cseq: UInt32, onProgress: @escaping (ReferProgress) -> Void) {
        self.dialog = dialog
        self.cseq = cseq
        self.onProgress = onProgress
    }

    public var isFinished: Bool { onProgress == nil }

    func start(timeout: TimeAmount, transactions: TransactionLayer) {
        timer = transactions.schedule(in: timeout) { [weak self] in
            self?.finish(.failed(408, "no final NOTIFY for the REFER"))
        }
    }

    func response(_ response: SIPResponse) {
        switch response.statusCode {
        case ..<200: return
        case 200..<300: report(.accepted)
        default: finish(.failed(response.statusCode, response.reasonPhrase))
        }
    }

    /// A NOTIFY with Event: refer (§2.4.4). Its status line says how the
    /// new call goes; Subscription-State terminated ends it.
    func notify(_ transaction: ServerTransaction) {
        let request = transaction.request
        transaction.respond(200)
        let status = Self.sipfragStatus(request.body)
        let terminated = request.headers["Subscription-State"]?.lowercased().hasPrefix("terminated") ?? false
        switch status?.code {
        case let code? where code >= 300:
            finish(.failed(code, status?.reason ?? ""))
        case let code? where code >= 200:
            finish(.succeeded(code))
        case let code?:
            if terminated { return finish(.failed(487, "the subscription ended at \(code)")) }
            report(.trying(code))
        case nil:
            if terminated { finish(.failed(500, "the subscription ended without a status")) }
        }
    }

    /// Stops reporting (the call ended, or the caller gave up).
    public func cancel() {
        timer?.cancel()
        onProgress = nil
        if dialog?.outgoingRefer === self { dialog?.outgoingRefer = nil }
    }

    private func report(_ progress: ReferProgress) { onProgress?(progress) }

    private func finish(_ progress: ReferProgress) {
        let callback = onProgress
        cancel()
        callback?(progress)
    }

    /// "SIP/2.0 180 Ringing" as (180, "Ringing"); nil for anything else.
    static func sipfragStatus(_ body: [UInt8]) -> (code: Int, reason: String)? {
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        guard let line = text.split(whereSeparator: \.isNewline).first else { return nil }
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].uppercased() == "SIP/2.0", parts[1].count == 3, let code = Int(parts[1]),
              (100...699).contains(code) else { return nil }
        return (code, parts.count == 3 ? String(parts[2]) : "")
    }
}

extension Dialog {
    /// Asks the peer to call `target` (RFC 3515): REFER with Refer-To and
    /// Referred-By (RFC 3892); progress as `onProgress` says. One at a
    /// time per dialog: a second while one runs fails with 491.
    @discardableResult
    public func refer(to target: SIPURI, timeout: TimeAmount = .seconds(120),
                      onProgress: @escaping (ReferProgress) -> Void) -> OutgoingRefer? {
        guard !isTerminated, let userAgent else {
            onProgress(.failed(481, "the call has ended"))
            return nil
        }
        guard outgoingRefer == nil else {
            onProgress(.failed(491, "a transfer is already under way"))
            return nil
        }
        var request = makeRequest(.refer)
        request.headers.add("Refer-To", "<\(target)>")
        request.headers.add("Referred-By", "<\(local.uri)>")
        request.headers.add("Contact", "<\(userAgent.contactURI(transport))>")
        request.headers.add("Allow", SIPUserAgent.allowedMethods)
        userAgent.stampVia(&request, transport: transport)
        let refer = OutgoingRefer(dialog: self, cseq: localSeq, onProgress: onProgress)
        outgoingRefer = refer
        refer.start(timeout: timeout, transactions: userAgent.transactions)
        withNextHop { [weak userAgent, weak refer] hop in
            userAgent?.transactions.send(request, to: hop) { event in
                switch event {
                case .response(let response): refer?.response(response)
                case .timeout: refer?.response(SIPResponse.to(request, statusCode: 408))
                case .transportError: refer?.response(SIPResponse.to(request, statusCode: 503))
                }
            }
        }
        return refer
    }

    /// A NOTIFY in this dialog: for our REFER's subscription, else 481 (RFC 6665 §4.1.3).
    func receiveNotify(_ transaction: ServerTransaction) {
        let event = transaction.request.headers["Event"]?.lowercased() ?? ""
        guard let refer = outgoingRefer, event.hasPrefix("refer") else {
            return transaction.respond(481, reason: "Subscription Does Not Exist")
        }
        refer.notify(transaction)
    }
}
