import Logging
import NIOCore

/// What the application says about an out-of-dialog request before it is
/// processed: the gateway's "no open relay" rule lives behind this hook.
public enum RequestAuthorization: Sendable {
    case allow
    /// 403 with this reason.
    case forbid(String)
    /// 401/407 with this WWW-/Proxy-Authenticate header value.
    case challenge(statusCode: Int, header: String)
}

public struct SIPUserAgentConfiguration: Sendable {
    /// Host or IP put into Via sent-by and Contact.
    public var publicAddress: String
    public var userAgent: String
    public var timers: SIPTimers
    /// The user part of our Contact URIs.
    public var contactUser: String

    public init(publicAddress: String, userAgent: String = "Tieline", timers: SIPTimers = SIPTimers(),
                contactUser: String = "tieline") {
        self.publicAddress = publicAddress
        self.userAgent = userAgent
        self.timers = timers
        self.contactUser = contactUser
    }
}

/// The transaction user core (RFC 3261 §8, §12, §13, §15): routes requests
/// to dialogs and sessions, answers what no application needs to see, and
/// builds requests. One instance per gateway, confined to one event loop.
public final class SIPUserAgent: @unchecked Sendable {
    public let eventLoop: any EventLoop
    public let transport: any SIPMessageTransport
    let transactions: TransactionLayer
    public let configuration: SIPUserAgentConfiguration
    /// Names of route hops and trunks, looked up off the loop.
    public let resolver: SIPResolver
    let logger: Logger

    /// A new INVITE outside any dialog, already authorized.
    public var onInvite: ((IncomingInvite) -> Void)?
    /// Decides on every out-of-dialog request before anything else.
    public var authorize: ((SIPRequest, SIPEndpoint) -> RequestAuthorization)?
    /// Session timers (RFC 4028) for our INVITEs (unless their parameters
    /// say otherwise) and for the 2xx we answer INVITEs with; nil starts
    /// none, though a peer that asks for one still gets it. Set it on the loop.
    public var sessionTimer: SessionTimerPolicy? = SessionTimerPolicy()

    private var dialogs: [Dialog.ID: Dialog] = [:]
    private var incoming: [ObjectIdentifier: IncomingInvite] = [:]
    private var outgoing: [ObjectIdentifier: OutgoingInvite] = [:]
    public static let allowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, PRACK"
    /// Option tags of the extensions we implement (Supported, and what a Require may name).
    public static let supportedExtensions = "timer, 100rel, replaces"
    static let knownMethods: Set<String> = [
        "REGISTER", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER", "INFO", "UPDATE", "PRACK",
    ]

    /// A user agent on its own sockets (bind them through `sockets`).
    public convenience init(eventLoop: any EventLoop, configuration: SIPUserAgentConfiguration, logger: Logger) {
        self.init(transport: SIPTransportLayer(eventLoop: eventLoop, logger: logger), configuration: configuration,
                  logger: logger)
    }

    /// A user agent on any transport: the sockets, or a test's recorder.
    public init(transport: any SIPMessageTransport, configuration: SIPUserAgentConfiguration, logger: Logger,
                resolver: SIPResolver = SIPResolver()) {
        self.eventLoop = transport.eventLoop
        self.resolver = resolver
        self.configuration = configuration
        self.logger = logger
        self.transport = transport
        transactions = TransactionLayer(transport: transport, timers: configuration.timers, logger: logger)
        transport.onMessage = { [unowned self] in self.receive($0) }
        transport.onParseError = { [unowned self] in self.receiveUnparseable($0, from: $1) }
    }

    /// The socket transport, when the user agent runs on one.
    public var sockets: SIPTransportLayer? { transport as? SIPTransportLayer }

    /// Counts for leak checks: nothing may stay behind after a call.
    public struct Counts: Sendable, Equatable {
        public var dialogs = 0, incomingInvites = 0, outgoingInvites = 0
        public var clientTransactions = 0, serverTransactions = 0, connections = 0
        public init() {}
        init(dialogs: Int, incomingInvites: Int, outgoingInvites: Int, clientTransactions: Int,
             serverTransactions: Int, connections: Int) {
            self.dialogs = dialogs
            self.incomingInvites = incomingInvites
            self.outgoingInvites = outgoingInvites
            self.clientTransactions = clientTransactions
            self.serverTransactions = serverTransactions
            self.connections = connections
        }
    }

    public var counts: Counts {
        Counts(dialogs: dialogs.count, incomingInvites: incoming.count, outgoingInvites: outgoing.count,
               clientTransactions: transactions.clientCount, serverTransactions: transactions.serverCount,
               connections: transport.connectionCount)
    }

    // MARK: addresses

    /// The port we advertise for a transport: its listener's, else UDP's.
    func localPort(_ transport: SIPTransport) -> Int {
        (self.transport.localAddress(transport) ?? self.transport.localAddress(.udp)
            ?? self.transport.localAddress(.tcp))?.port ?? transport.defaultPort
    }

    /// Our Contact URI for a transport; `user` in place of the configured user part.
    public func contactURI(_ transport: SIPTransport, user: String? = nil) -> SIPURI {
        var uri = SIPURI(scheme: "sip", user: user ?? configuration.contactUser, host: configuration.publicAddress,
                         port: localPort(transport))
        if transport != .udp { uri.parameters.set("transport", transport.uriParameter) }
        return uri
    }

    /// Puts our Via, with a fresh branch and rport (RFC 3581), on top.
    func stampVia(_ request: inout SIPRequest, transport: SIPTransport, branch: String = SIPIdentifiers.branch()) {
        var via = Via(transport: transport.rawValue, host: configuration.publicAddress, port: localPort(transport))
        via.parameters.set("branch", branch)
        via.parameters.set("rport", nil)
        request.headers.insertFirst("Via", via.description)
        if request.headers["User-Agent"] == nil { request.headers.add("User-Agent", configuration.userAgent) }
    }

    // MARK: receiving

    private func receive(_ received: ReceivedMessage) {
        switch received.message {
        case .request(var request):
            Self.stampReceived(&request, source: received.source)
            receive(request, from: received.source)
        case .response(let response):
            // A retransmitted 2xx of an INVITE we already acknowledged gets the
            // same ACK from its dialog (§13.2.2.4), whether or not the INVITE's
            // session is still around; its transaction only absorbs it.
            if let dialog = dialogAcknowledging(response) { return dialog.resendAck() }
            if !transactions.receive(response) { receiveStray(response) }
        }
    }

    /// RFC 3261 §18.2.1 and RFC 3581 §4: record where the request came from.
    static func stampReceived(_ request: inout SIPRequest, source: SIPEndpoint) {
        guard var via = request.headers.topVia else { return }
        let ip = source.ipAddress
        var changed = false
        if via.host != ip { via.received = ip; changed = true }
        if via.hasRport { via.rport = source.port; via.received = ip; changed = true }
        if changed {
            request.headers.removeFirst("Via")
            request.headers.insertFirst("Via", via.description)
        }
    }

    private func receive(_ request: SIPRequest, from source: SIPEndpoint) {
        switch transactions.receive(request, from: source) {
        case .absorbed:
            return
        case .new(nil):
            if request.method == .ack { receiveAck(request) }
        case .new(let transaction?):
            if request.method == .cancel {
                receiveCancel(transaction)
            } else if request.headers.to?.tag != nil {
                receiveInDialog(transaction)
            } else {
                receiveOutOfDialog(transaction)
            }
        }
    }

    private func receiveUnparseable(_ error: SIPParseError, from source: SIPEndpoint) {
        // §21.4.1: a request that can be answered gets 400 (505 for another
        // SIP version) with what is wrong. Whatever headers could be read are
        // echoed; an ACK is never answered.
        guard let request = error.request, request.method != .ack else { return }
        var response = SIPResponse.to(request, statusCode: error.statusCode, reasonPhrase: error.reason,
                                      toTag: SIPIdentifiers.tag())
        response.headers.add("Server", configuration.userAgent)
        // The Via of a malformed request cannot be trusted: answer where it
        // came from, never a third address it names (no reflection).
        _ = transport.send(.response(response), to: source)
    }

    private func receiveAck(_ ack: SIPRequest) {
        guard let id = dialogID(ofIncoming: ack), let dialog = dialogs[id] else { return }
        dialog.ackReceived(cseq: ack.headers.cseq?.sequence, body: ack.body)
    }

    private func receiveCancel(_ transaction: ServerTransaction) {
        guard let invite = transactions.inviteTransaction(cancelledBy: transaction.request) else {
            transaction.respond(481, reason: "Call/Transaction Does Not Exist")
            return
        }
        transaction.respond(200)
        if !invite.isCompleted, let session = incoming[ObjectIdentifier(invite)] {
            session.cancelled()
        }
    }

    private func receiveInDialog(_ transaction: ServerTransaction) {
        let request = transaction.request
        if request.method == .prack, let session = incomingInvite(acknowledgedBy: request) {
            // RFC 3262 §3: the INVITE is still ours to answer (or its 2xx waits for this).
            return session.receivePrack(transaction)
        }
        guard let id = dialogID(ofIncoming: request), let dialog = dialogs[id] else {
            transaction.respond(481, reason: "Call/Transaction Does Not Exist")
            return
        }
        let sequence = request.headers.cseq?.sequence ?? 0
        if let last = dialog.remoteSeq, sequence <= last, request.method != .ack {
            // §12.2.2: out of order.
            transaction.respond(500, reason: "CSeq Out of Order")
            return
        }
        dialog.remoteSeq = sequence
        switch request.method {
        case .bye:
            transaction.respond(200)
            dialog.terminate(.remoteBye)
        case .invite, .update:
            dialog.receiveOffer(transaction)
        case .info:
            if let onInfo = dialog.onInfo { onInfo(transaction) } else { transaction.respond(200) }
        case .options:
            respondToOptions(transaction)
        case .refer:
            receiveRefer(transaction, in: dialog)
        case .notify:
            dialog.receiveNotify(transaction)
        case .prack:
            // A PRACK after our 2xx (it crossed it, or its 1xx was retransmitted late).
            transaction.respond(200)
        default:
            transaction.respond(501, reason: "Not Implemented", headers: [("Allow", Self.allowedMethods)])
        }
    }

    /// A REFER (RFC 3515): a malformed one is answered here; a sound one
    /// goes to the dialog's application, or is declined when it takes none.
    private func receiveRefer(_ transaction: ServerTransaction, in dialog: Dialog) {
        let refer: IncomingRefer
        do {
            refer = try IncomingRefer(transaction: transaction, dialog: dialog)
        } catch {
            return transaction.respond(error.statusCode, reason: error.reason)
        }
        guard let onRefer = dialog.onRefer else { return refer.reject(603, reason: "Decline") }
        onRefer(refer)
    }

    private func receiveOutOfDialog(_ transaction: ServerTransaction) {
        let request = transaction.request
        switch authorize?(request, transaction.source) ?? .allow {
        case .allow:
            break
        case .forbid(let reason):
            logger.notice("refused \(request.method) from \(transaction.source): \(reason)")
            transaction.respond(403, reason: "Forbidden", toTag: SIPIdentifiers.tag())
            return
        case .challenge(let code, let header):
            let name = code == 407 ? "Proxy-Authenticate" : "WWW-Authenticate"
            transaction.respond(code, toTag: SIPIdentifiers.tag(), headers: [(name, header)])
            return
        }
        if let refusal = Self.validate(request) {
            var response = SIPResponse.to(request, statusCode: refusal.code, reasonPhrase: refusal.reason,
                                          toTag: SIPIdentifiers.tag())
            for (name, value) in refusal.headers { response.headers.add(name, value) }
            transaction.respond(response)
            return
        }
        switch request.method {
        case .invite:
            if let limits = SessionTimerPolicy.limits(sessionTimer, for: request), limits.isTooSmall(request) {
                // RFC 4028 §9: the caller asks again with our Min-SE.
                transaction.respond(422, reason: "Session Interval Too Small", toTag: SIPIdentifiers.tag(),
                                    headers: [("Min-SE", "\(limits.minSE)")])
                return
            }
            // §17.2.1: 100 Trying at once stops the caller's retransmissions
            // while the application decides (the dialplan may take a while).
            transaction.respond(100, reason: "Trying")
            let session = IncomingInvite(userAgent: self, transaction: transaction)
            incoming[ObjectIdentifier(transaction)] = session
            if request.headers.contains("Replaces") { return receiveReplacing(session) }
            if let onInvite { onInvite(session) } else { session.reject(480, reason: "Temporarily Unavailable") }
        case .options:
            respondToOptions(transaction)
        case .bye:
            transaction.respond(481, reason: "Call/Transaction Does Not Exist")
        default:
            // §8.2.1: a method we know but do not serve is 405; one we do not know, 501.
            let known = Self.knownMethods.contains(request.method.rawValue)
            transaction.respond(known ? 405 : 501, reason: known ? "Method Not Allowed" : "Not Implemented",
                                toTag: SIPIdentifiers.tag(), headers: [("Allow", Self.allowedMethods)])
        }
    }

    /// An INVITE with Replaces (RFC 3891 §3): it goes to the dialog it
    /// names, never through routing. 481 when we have no such dialog (or a
    /// malformed header names none), 486 for `early-only` on an answered
    /// one, 603 when the dialog's application takes no replacement.
    private func receiveReplacing(_ session: IncomingInvite) {
        let values = session.request.headers.all("Replaces")
        guard values.count == 1, let replaces = values.first.flatMap(Replaces.init(parsing:)) else {
            return session.reject(400, reason: "Bad Replaces")
        }
        guard let dialog = dialogs[replaces.dialogID], !dialog.isTerminated else {
            return session.reject(481, reason: "Call/Transaction Does Not Exist")
        }
        if replaces.earlyOnly { return session.reject(486, reason: "Busy Here") }
        guard let onReplaced = dialog.onReplaced else { return session.reject(603, reason: "Decline") }
        session.replacing = dialog
        onReplaced(session)
    }

    /// Trunks send OPTIONS as a keepalive; answer what we can do (§11.2).
    private func respondToOptions(_ transaction: ServerTransaction) {
        transaction.respond(200, toTag: SIPIdentifiers.tag(), headers: [
            ("Allow", Self.allowedMethods), ("Accept", "application/sdp"), ("Supported", Self.supportedExtensions),
            ("Server", configuration.userAgent),
        ])
    }

    /// A 2xx that matched no transaction: a retransmission after Timer M or
    /// a fork. Known dialogs get their ACK again.
    private func receiveStray(_ response: SIPResponse) {
        dialogAcknowledging(response)?.resendAck()
    }

    /// The dialog whose last ACK answers this 2xx to an INVITE (same tags and CSeq number).
    private func dialogAcknowledging(_ response: SIPResponse) -> Dialog? {
        guard response.statusCode >= 200, response.statusCode < 300,
              let cseq = response.headers.cseq, cseq.method == .invite,
              let callID = response.headers.callID, let local = response.headers.from?.tag,
              let remote = response.headers.to?.tag,
              let dialog = dialogs[Dialog.ID(callID: callID, localTag: local, remoteTag: remote)],
              dialog.ack?.cseq == cseq.sequence else { return nil }
        return dialog
    }

    /// The INVITE we have not finished answering that a PRACK names (Call-ID, our To tag).
    private func incomingInvite(acknowledgedBy prack: SIPRequest) -> IncomingInvite? {
        guard let callID = prack.headers.callID, let tag = prack.headers.to?.tag else { return nil }
        return incoming.values.first { $0.localTag == tag && $0.request.headers.callID == callID }
    }

    private func dialogID(ofIncoming request: SIPRequest) -> Dialog.ID? {
        guard let callID = request.headers.callID, let local = request.headers.to?.tag,
              let remote = request.headers.from?.tag else { return nil }
        return Dialog.ID(callID: callID, localTag: local, remoteTag: remote)
    }

    // MARK: bookkeeping for sessions and dialogs

    func addDialog(_ dialog: Dialog) { dialogs[dialog.id] = dialog }
    func removeDialog(_ dialog: Dialog) {
        if dialogs[dialog.id] === dialog { dialogs[dialog.id] = nil }
        if dialogs.isEmpty { dialogs = [:] }  // give back the capacity of a busy spell
    }
    func dialog(_ id: Dialog.ID) -> Dialog? { dialogs[id] }
    func removeIncoming(_ session: IncomingInvite) { incoming[ObjectIdentifier(session.transaction)] = nil }
    func addOutgoing(_ session: OutgoingInvite) { outgoing[ObjectIdentifier(session)] = session }
    func removeOutgoing(_ session: OutgoingInvite) { outgoing[ObjectIdentifier(session)] = nil }

    /// Ends every dialog with BYE and closes the sockets.
    public func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            for dialog in Array(self.dialogs.values) { dialog.bye() }
            for session in Array(self.incoming.values) { session.reject(503, reason: "Service Unavailable") }
            for session in Array(self.outgoing.values) { session.cancel() }
            // Give the BYEs a moment on the wire before the sockets go.
            return self.eventLoop.scheduleTask(in: .milliseconds(100)) {}.futureResult.flatMap {
                self.transactions.shutdown()
                return self.transport.close()
            }
        }
    }
}
