/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
public let magicCookie = "z9hG4bK"

/// Identifies a transaction. Client transactions match responses by the
/// top Via branch and the CSeq method (§17.1.3); server transactions match
/// requests by branch, sent-by and method, with ACK matching its INVITE
/// (§17.2.3). Requests from RFC 2543 peers, whose branch lacks the magic
/// cookie, fall back to the fields §17.2.3 names for them.
struct TransactionKey: Hashable {
    var branch: String
    var sentBy: String
    var method: String

    static func client(branch: String, method: SIPMethod) -> TransactionKey {
        TransactionKey(branch: branch, sentBy: "", method: method == .ack ? SIPMethod.invite.rawValue : method.rawValue)
    }

    static func server(for request: SIPRequest) -> TransactionKey? {
        guard let via = request.headers.topVia else { return nil }
        let method = request.method == .ack ? SIPMethod.invite.rawValue : request.method.rawValue
        if let branch = via.branch, branch.hasPrefix(magicCookie) {
            return TransactionKey(branch: branch, sentBy: "\(via.host):\(via.port ?? 0)", method: method)
        }
        // RFC 2543: Request-URI, To tag, From tag, Call-ID, CSeq number and top Via.
        let headers = request.headers
        guard let callID = headers.callID, let cseq = headers.cseq else { return nil }
        let toTag = request.method == .ack ? "" : (headers.to?.tag ?? "")
        let legacy = "\(request.uri)|\(toTag)|\(headers.from?.tag ?? "")|\(callID)|\(cseq.sequence)|\(via)"
        return TransactionKey(branch: legacy, sentBy: "2543", method: method)
    }
}
