// A REFER inside a dialog (RFC 3515): the peer asks us to call someone
// (a blind transfer, RFC 5589 §6), and hears how it goes through the
// implicit subscription's NOTIFYs, each a `message/sipfrag` status line
// (§2.4.5). RFC 4488's `Refer-Sub: false` turns the NOTIFYs off.

/// Why a REFER cannot be taken at all (answered before the application sees it).
public struct ReferError: Error, Equatable, CustomStringConvertible {
    public let statusCode: Int
    public let reason: String
    public var description: String { "\(statusCode) \(reason)" }
}

/// The peer's REFER, for the application to accept (202, then progress
/// NOTIFYs) or refuse. Confined to the user agent's loop.
public final class IncomingRefer: @unchecked Sendable {
    /// Refer-To's URI without its `?headers`: where to call.
    public let target: SIPURI
    /// An RFC 3891 Replaces in Refer-To (`?Replaces=...`), decoded: the
    /// peer asks for an attended transfer that takes over that dialog.
    public let replaces: String?
    public let referredBy: String?
    /// False when the peer said `Refer-Sub: false` (RFC 4488): no NOTIFYs.
    public let wantsNotifications: Bool
    let transaction: ServerTransaction
    private weak var dialog: Dialog?
    /// The REFER's CSeq number: the `id` of the subscription's Event (§2.4.6).
    private let subscriptionID: UInt32
    public private(set) var isAnswered = false
    /// The final NOTIFY went (or the subscription could not go on).
    public private(set) var isFinished = false

    init(transaction: ServerTransaction, dialog: Dialog) throws(ReferError) {
        let request = transaction.request
        let values = request.headers.all("Refer-To")
        // §2.4.1: exactly one Refer-To.
        guard values.count == 1, let value = values.first else {
            throw ReferError(statusCode: 400, reason: values.isEmpty ? "Missing Refer-To" : "More Than One Refer-To")
        }
        guard let address = try? NameAddress.parse(value), address.uri.isSIP,
              let user = address.uri.user, !user.isEmpty else {
            throw ReferError(statusCode: 416, reason: "Unsupported URI Scheme")
        }
        var target = address.uri
        replaces = target.headers.first { $0.name.lowercased() == "replaces" }.map { Self.percentDecoded($0.value) }
        target.headers = []
        self.target = target
        referredBy = request.headers["Referred-By"]
        wantsNotifications = request.headers["Refer-Sub"]?.lowercased() != "false"
        subscriptionID = request.headers.cseq?.sequence ?? 0
        self.transaction = transaction
        self.dialog = dialog
    }

    /// 202 Accepted and, with a subscription, the first NOTIFY: 100 Trying (§2.4.4).
    public func accept() {
        guard !isAnswered else { return }
        isAnswered = true
        var headers: [(String, String)] = []
        if !wantsNotifications { headers.append(("Refer-Sub", "false")) }
        if let dialog, let userAgent = dialog.userAgent {
            headers.append(("Contact", "<\(userAgent.contactURI(dialog.transport))>"))
        }
        transaction.respond(202, reason: "Accepted", headers: headers)
        notify(100, reason: "Trying")
    }

    /// Refuses the REFER: 603 Decline, 403 Forbidden, ...
    public func reject(_ statusCode: Int, reason: String) {
        guard !isAnswered else { return }
        isAnswered = true
        isFinished = true
        transaction.respond(statusCode, reason: reason)
    }

    /// How the referred call goes: a provisional status keeps the
    /// subscription active, a final one ends it (`noresource`, §2.4.7).
    public func notify(_ statusCode: Int, reason: String) {
        guard isAnswered, !isFinished else { return }
        let final = statusCode >= 200
        if final { isFinished = true }
        guard wantsNotifications, let dialog, !dialog.isTerminated, let userAgent = dialog.userAgent else { return }
        var request = dialog.makeRequest(.notify)
        request.headers.add("Event", "refer;id=\(subscriptionID)")
        request.headers.add("Subscription-State", final ? "terminated;reason=noresource" : "active;expires=60")
        request.headers.add("Contact", "<\(userAgent.contactURI(dialog.transport))>")
        request.headers.add("Content-Type", "message/sipfrag;version=2.0")
        request.body = Array("SIP/2.0 \(statusCode) \(reason)\r\n".utf8)
        userAgent.stampVia(&request, transport: dialog.transport)
        dialog.withNextHop { [weak userAgent, weak self] hop in
            userAgent?.transactions.send(request, to: hop) { event in
                // 481: the peer dropped the subscription (or the dialog); say no more.
                if case .response(let response) = event, response.statusCode == 481 { self?.isFinished = true }
            }
        }
    }

    /// `%XX` escapes undone, as in a URI header value (RFC 3261 §19.1.1).
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
