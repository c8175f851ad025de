import Logging
import NIOCore

/// Matches messages to transactions (RFC 3261 §17.1.3, §17.2.3) and hands
/// what matches none to the transaction user. Confined to one event loop.
final class TransactionLayer: @unchecked Sendable {
    let transport: any SIPMessageTransport
    let logger: Logger
    var timers: SIPTimers
    private var clients: [TransactionKey: ClientTransaction] = [:]
    private var servers: [TransactionKey: ServerTransaction] = [:]
    /// A non-2xx INVITE response never got its ACK (Timer H).
    var onAckTimeout: ((ServerTransaction) -> Void)?

    init(transport: any SIPMessageTransport, timers: SIPTimers, logger: Logger) {
        self.transport = transport
        self.timers = timers
        self.logger = logger
    }

    var eventLoop: EventLoop { transport.eventLoop }
    var clientCount: Int { clients.count }
    var serverCount: Int { servers.count }

    /// Every SIP timer of this layer's loop (see `TimerQueue` for why not NIO's own per timer).
    private(set) lazy var timerQueue = TimerQueue(eventLoop: eventLoop)

    func schedule(in delay: TimeAmount, _ body: @escaping () -> Void) -> SIPTimer {
        timerQueue.schedule(in: delay, body)
    }

    // MARK: client side

    /// Starts a client transaction for a request whose top Via carries a fresh branch.
    @discardableResult
    func send(_ request: SIPRequest, to destination: SIPEndpoint,
              onEvent: @escaping (ClientTransactionEvent) -> Void) -> ClientTransaction? {
        guard let branch = request.headers.topVia?.branch else {
            logger.error("request without a Via branch not sent: \(request.method)")
            return nil
        }
        let key = TransactionKey.client(branch: branch, method: request.method)
        let transaction = ClientTransaction(layer: self, key: key, request: request,
                                            destination: destination, onEvent: onEvent)
        clients[key] = transaction
        transaction.start()
        return transaction
    }

    /// Returns false when no client transaction matched (stray or late 2xx).
    func receive(_ response: SIPResponse) -> Bool {
        guard let branch = response.headers.topVia?.branch,
              let method = response.headers.cseq?.method,
              let transaction = clients[.client(branch: branch, method: method)] else { return false }
        transaction.receive(response)
        return true
    }

    func remove(_ transaction: ClientTransaction) {
        if clients[transaction.key] === transaction { clients[transaction.key] = nil }
        // A dictionary keeps the capacity of its busiest moment; let it go
        // when idle (64·T1 of transactions at 2,000 calls/s is ~10 MB).
        if clients.isEmpty { clients = [:] }
    }

    // MARK: server side

    enum ServerMatch {
        /// A retransmission or an ACK for a non-2xx response: handled.
        case absorbed
        /// A new request; the transaction was created (nil for ACK).
        case new(ServerTransaction?)
    }

    func receive(_ request: SIPRequest, from source: SIPEndpoint) -> ServerMatch {
        guard let key = TransactionKey.server(for: request) else { return .new(nil) }
        if let existing = servers[key] {
            // An ACK for a 2xx is a new transaction of its own (§17.2.1) and
            // goes to the TU; the INVITE transaction only absorbs non-2xx ACKs.
            if request.method == .ack && existing.finalStatus >= 200 && existing.finalStatus < 300 {
                return .new(nil)
            }
            existing.receive(request)
            return .absorbed
        }
        if request.method == .ack { return .new(nil) }
        let transaction = ServerTransaction(layer: self, key: key, request: request, source: source)
        servers[key] = transaction
        return .new(transaction)
    }

    /// The INVITE server transaction a CANCEL refers to (§9.2).
    func inviteTransaction(cancelledBy cancel: SIPRequest) -> ServerTransaction? {
        guard var key = TransactionKey.server(for: cancel) else { return nil }
        key.method = SIPMethod.invite.rawValue
        return servers[key]
    }

    func remove(_ transaction: ServerTransaction) {
        if servers[transaction.key] === transaction { servers[transaction.key] = nil }
        if servers.isEmpty { servers = [:] }
    }

    func ackTimedOut(_ transaction: ServerTransaction) {
        onAckTimeout?(transaction)
    }

    func shutdown() {
        for transaction in Array(clients.values) { transaction.terminate() }
        for transaction in Array(servers.values) { transaction.terminate() }
    }
}

/// Carries a non-Sendable closure into a task scheduled on the loop that
/// owns everything it touches.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
