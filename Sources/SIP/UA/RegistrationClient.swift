import NIOCore

/// Keeps a binding registered with a registrar (RFC 3261 §10.2): answers
/// digest challenges, refreshes before expiry, backs off after failures
/// (RFC 5626 §4.5 style), and removes the binding on stop.
public final class RegistrationClient: @unchecked Sendable {
    public enum State: Sendable, Equatable {
        case idle
        case registering
        case registered(expires: Int)
        case failed(CallFailure)
        case unregistered
    }

    public struct Parameters: Sendable {
        public var registrar: SIPEndpoint
        /// The address-of-record: To and From.
        public var addressOfRecord: SIPURI
        /// The Request-URI: the registrar's domain.
        public var registrarURI: SIPURI
        public var credentials: SIPCredentials?
        public var expires: Int
        /// First retry delay after a failure; doubles up to `maxRetryDelay`.
        public var retryDelay: TimeAmount
        public var maxRetryDelay: TimeAmount
        /// The user part of the Contact we register; a registrar retargets
        /// calls for the AOR to it (RFC 3261 §16.6 step 2), so a distinct one
        /// per registration says which registration a call came in through.
        public var contactUser: String?

        public init(registrar: SIPEndpoint, addressOfRecord: SIPURI, registrarURI: SIPURI,
                    credentials: SIPCredentials?, expires: Int = 3600,
                    retryDelay: TimeAmount = .seconds(30), maxRetryDelay: TimeAmount = .seconds(1800),
                    contactUser: String? = nil) {
            self.contactUser = contactUser
            self.registrar = registrar
            self.addressOfRecord = addressOfRecord
            self.registrarURI = registrarURI
            self.credentials = credentials
            self.expires = expires
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
        }
    }

    public let parameters: Parameters
    public private(set) var state = State.idle
    /// Every state change, on the user agent's loop.
    public var onStateChange: ((State) -> Void)?
    /// Successful registrations so far (the first and each refresh).
    public private(set) var registrations = 0

    private weak var userAgent: SIPUserAgent?
    private let callID = SIPIdentifiers.callID()
    private let localTag = SIPIdentifiers.tag()
    private var cseq: UInt32 = 0
    private var digest = DigestClient()
    private var authorization: (name: String, value: String, realm: String, nonce: String)?
    private var challengesThisRound = 0
    private var timer: SIPTimer?
    private var failures = 0
    private var stopping: EventLoopPromise<Void>?

    public init(userAgent: SIPUserAgent, parameters: Parameters) {
        self.userAgent = userAgent
        self.parameters = parameters
    }

    public func start() {
        userAgent?.eventLoop.execute { self.send(expires: self.parameters.expires) }
    }

    /// Unregisters (Expires: 0); the future completes when the registrar
    /// answered or gave up.
    public func stop() -> EventLoopFuture<Void> {
        guard let userAgent else { fatalError("user agent gone") }
        return userAgent.eventLoop.flatSubmit {
            self.timer?.cancel()
            guard case .registered = self.state else {
                self.set(.unregistered)
                return userAgent.eventLoop.makeSucceededVoidFuture()
            }
            let promise = userAgent.eventLoop.makePromise(of: Void.self)
            self.stopping = promise
            self.challengesThisRound = 0
            self.send(expires: 0)
            return promise.futureResult
        }
    }

    private func send(expires: Int) {
        guard let userAgent else { return }
        if expires > 0, !isRegistered, state != .registering { set(.registering) }
        cseq += 1
        var headers = SIPHeaders()
        headers.add("Max-Forwards", "70")
        headers.add("From", NameAddress(uri: parameters.addressOfRecord, parameters: [.init(name: "tag", value: localTag)]).description)
        headers.add("To", NameAddress(uri: parameters.addressOfRecord).description)
        headers.add("Call-ID", callID)
        headers.add("CSeq", "\(cseq) REGISTER")
        headers.add("Contact", "<\(userAgent.contactURI(parameters.registrar.transport, user: parameters.contactUser))>")
        headers.add("Expires", "\(expires)")
        if let authorization { headers.add(authorization.name, authorization.value) }
        var request = SIPRequest(method: .register, uri: parameters.registrarURI, headers: headers)
        userAgent.stampVia(&request, transport: parameters.registrar.transport)
        userAgent.transactions.send(request, to: parameters.registrar) { [weak self] event in
            self?.handle(event, request: request, expires: expires)
        }
    }

    private func handle(_ event: ClientTransactionEvent, request: SIPRequest, expires: Int) {
        switch event {
        case .timeout:
            failed(CallFailure(statusCode: 408, reason: "Request Timeout"), unregistering: expires == 0)
        case .transportError(let error):
            failed(CallFailure(statusCode: 503, reason: "Transport error: \(error)"), unregistering: expires == 0)
        case .response(let response):
            switch response.statusCode {
            case 100..<200:
                break
            case 200..<300:
                succeeded(response, expires: expires)
            case 401, 407:
                if answerChallenge(response, request: request) {
                    send(expires: expires)
                } else {
                    failed(CallFailure(statusCode: response.statusCode, reason: response.reasonPhrase),
                           unregistering: expires == 0)
                }
            case 423:
                // §10.2.8: Interval Too Brief; take the registrar's minimum.
                if let minimum = response.headers["Min-Expires"].flatMap({ Int($0) }), expires > 0, minimum > expires {
                    send(expires: minimum)
                } else {
                    failed(CallFailure(statusCode: 423, reason: response.reasonPhrase), unregistering: expires == 0)
                }
            default:
                failed(CallFailure(statusCode: response.statusCode, reason: response.reasonPhrase),
                       unregistering: expires == 0)
            }
        }
    }

    private func answerChallenge(_ response: SIPResponse, request: SIPRequest) -> Bool {
        guard let credentials = parameters.credentials else { return false }
        let proxy = response.statusCode == 407
        let challenges = response.headers.all(proxy ? "Proxy-Authenticate" : "WWW-Authenticate")
            .flatMap { DigestChallenge.parseAll($0) }
            .filter { credentials.realm == nil || $0.realm == credentials.realm }
        guard let challenge = DigestClient.choose(challenges) else { return false }
        // A second challenge in one round for the same realm and not stale means the
        // credentials were refused; a challenge on a refresh is normal (new nonce).
        if challengesThisRound > 0, let previous = authorization, previous.realm == challenge.realm,
           !challenge.stale || previous.nonce == challenge.nonce {
            return false
        }
        challengesThisRound += 1
        guard challengesThisRound <= 3,
              let value = try? digest.authorization(for: challenge, method: "REGISTER", uri: request.uri.description,
                                                    username: credentials.username, password: credentials.password)
        else { return false }
        authorization = (proxy ? "Proxy-Authorization" : "Authorization", value, challenge.realm, challenge.nonce)
        return true
    }

    private func succeeded(_ response: SIPResponse, expires requested: Int) {
        challengesThisRound = 0
        failures = 0
        if requested == 0 {
            set(.unregistered)
            stopping?.succeed(())
            stopping = nil
            return
        }
        registrations += 1
        let granted = grantedExpiry(response) ?? requested
        set(.registered(expires: granted))
        // Refresh well before expiry: halfway for short bindings, 30 s early otherwise.
        let refresh = granted > 60 ? granted - 30 : max(1, granted / 2)
        // The refresh reuses the last nonce (nc increments); a fresh challenge is answered too.
        schedule(after: .seconds(Int64(refresh))) { $0.send(expires: $0.parameters.expires) }
    }

    public var isRegistered: Bool {
        if case .registered = state { return true }
        return false
    }

    /// §10.2.4: the expires of our own Contact in the 200, else the Expires header.
    private func grantedExpiry(_ response: SIPResponse) -> Int? {
        guard let userAgent else { return nil }
        let ours = userAgent.contactURI(parameters.registrar.transport, user: parameters.contactUser)
        for contact in response.headers.contacts
        where contact.uri.host == ours.host && contact.uri.port == ours.port && contact.uri.user == ours.user {
            if let value = contact.parameters.value("expires").flatMap({ Int($0) }) { return value }
        }
        return response.headers.expires
    }

    private func failed(_ failure: CallFailure, unregistering: Bool) {
        challengesThisRound = 0
        if unregistering {
            set(.unregistered)
            stopping?.succeed(())
            stopping = nil
            return
        }
        failures += 1
        set(.failed(failure))
        let delay = Self.retryDelay(afterFailures: failures, base: parameters.retryDelay,
                                    maximum: parameters.maxRetryDelay)
        schedule(after: delay) { $0.send(expires: $0.parameters.expires) }
    }

    /// Exponential backoff: the base after the first failure, doubling with
    /// each further one, never above the maximum (RFC 5626 §4.5).
    public static func retryDelay(afterFailures failures: Int, base: TimeAmount, maximum: TimeAmount) -> TimeAmount {
        var delay = min(base, maximum)
        for _ in 1..<max(1, min(failures, 32)) { delay = min(delay * 2, maximum) }
        return delay
    }

    private func schedule(after delay: TimeAmount, _ body: @escaping (RegistrationClient) -> Void) {
        timer?.cancel()
        guard let userAgent else { return }
        timer = userAgent.transactions.schedule(in: delay) { [weak self] in
            guard let self, self.stopping == nil else { return }
            body(self)
        }
    }

    private func set(_ state: State) {
        self.state = state
        onStateChange?(state)
    }
}
