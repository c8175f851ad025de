import NIOCore

/// Reliable provisional responses (RFC 3262): the headers both sides read.
extension SIPHeaders {
    /// Whether a Require (or, with `header`, another option-tag list) names `tag`.
    public func names(_ tag: String, in header: String = "Require") -> Bool {
        all(header).contains { $0.lowercased() == tag }
    }

    /// RSeq (§7.1): 1 to 2³²−1.
    public var rseq: UInt32? {
        guard let value = self["RSeq"].map({ Substring($0).sipTrimmed }), let number = UInt32(value), number > 0
        else { return nil }
        return number
    }

    /// RAck (§7.2): the RSeq, CSeq number and method of the response a PRACK acknowledges.
    public var rack: (rseq: UInt32, cseq: UInt32, method: String)? {
        guard let value = self["RAck"] else { return nil }
        let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 3, let rseq = UInt32(parts[0]), let cseq = UInt32(parts[1]) else { return nil }
        return (rseq, cseq, String(parts[2]).uppercased())
    }
}

/// The UAS half of RFC 3262 §3 for one INVITE whose caller requires
/// 100rel: each 1xx after 100 carries Require: 100rel and the next RSeq,
/// goes out one at a time (the next waits for the PRACK of the one before),
/// and is retransmitted from T1, doubling, until its PRACK comes; after
/// 64·T1 without one the INVITE is rejected with 504. A 2xx waits for the
/// PRACK of a reliable 1xx that carried a session description (§3: the
/// offer/answer in it must be settled first). Confined to the user agent's loop.
final class ReliableProvisionals {
    private struct Outstanding {
        var rseq: UInt32
        var hasBody: Bool
    }

    private let transaction: ServerTransaction
    private let transactions: TransactionLayer
    /// §3: the first RSeq is random, below 2³¹.
    private var nextRSeq = UInt32.random(in: 1...0x7FFF_FFFF)
    private var outstanding: Outstanding?
    private var queue: [SIPResponse] = []
    private var retransmit: SIPTimer?
    private var giveUp: SIPTimer?
    /// A 2xx held back until the outstanding 1xx with a body is acknowledged.
    private var heldAnswer: (() -> Void)?
    /// No PRACK came in time: the owner rejects the INVITE (504).
    var onGiveUp: (() -> Void)?

    init(transaction: ServerTransaction, transactions: TransactionLayer) {
        self.transaction = transaction
        self.transactions = transactions
    }

    private var timers: SIPTimers { transactions.timers }
    private func schedule(_ delay: TimeAmount, _ body: @escaping () -> Void) -> SIPTimer {
        transactions.schedule(in: delay, body)
    }

    /// The last PRACK's CSeq number: the dialog's remote sequence starts above it.
    private(set) var lastPrackSeq: UInt32?

    /// Sends `response` reliably now, or after the PRACKs before it.
    func send(_ response: SIPResponse) {
        guard outstanding == nil else { return queue.append(response) }
        var response = response
        let rseq = nextRSeq
        nextRSeq &+= 1
        response.headers.add("Require", "100rel")
        response.headers.add("RSeq", "\(rseq)")
        outstanding = Outstanding(rseq: rseq, hasBody: !response.body.isEmpty)
        transaction.respond(response)
        if !transaction.replyTo.transport.isReliable { scheduleRetransmit(after: timers.t1, response: response) }
        giveUp = schedule(timers.transactionTimeout) { [weak self] in self?.timedOut() }
    }

    private func scheduleRetransmit(after interval: TimeAmount, response: SIPResponse) {
        retransmit = schedule(interval) { [weak self] in
            guard let self, self.outstanding != nil else { return }
            self.transaction.respond(response)
            self.scheduleRetransmit(after: interval * 2, response: response)
        }
    }

    /// Whether a final 2xx may go now; if not, `send` runs after the PRACK.
    func answerWhenAllowed(_ send: @escaping () -> Void) {
        guard let outstanding, outstanding.hasBody else {
            stop()
            return send()
        }
        heldAnswer = send
    }

    /// A PRACK for this INVITE: 200 when it acknowledges the outstanding 1xx, 481 otherwise (§3).
    func receive(_ prack: ServerTransaction, inviteSeq: UInt32) {
        guard let rack = prack.request.headers.rack, rack.method == "INVITE", rack.cseq == inviteSeq,
              let current = outstanding, rack.rseq == current.rseq else {
            return prack.respond(481, reason: "Call/Transaction Does Not Exist")
        }
        lastPrackSeq = prack.request.headers.cseq?.sequence
        prack.respond(200)
        outstanding = nil
        retransmit?.cancel()
        giveUp?.cancel()
        if let answer = heldAnswer {
            heldAnswer = nil
            queue = []
            return answer()
        }
        if !queue.isEmpty { send(queue.removeFirst()) }
    }

    /// The INVITE got a final response: no more retransmissions (§3).
    func stop() {
        outstanding = nil
        queue = []
        heldAnswer = nil
        retransmit?.cancel()
        giveUp?.cancel()
    }

    private func timedOut() {
        guard outstanding != nil else { return }
        stop()
        onGiveUp?()
    }
}
