import Foundation
import Logging
import NIOConcurrencyHelpers
import SDP

/// One logged-in (or logging-in) WebSocket connection and its calls: the
/// protocol's state machine. It checks every client message, keeps the call
/// ids of the connection, and hands calls to the backend; the backend talks
/// back through `send`, which keeps the bookkeeping (a `hangup` ends the
/// call here too).
public final class SignalingClient: Sendable, CustomStringConvertible {
    /// What the connection writes, in order.
    public enum Output: Sendable, Equatable {
        case text(String)
        case close(code: UInt16, reason: String)
    }

    enum Direction: Sendable { case outgoing, incoming }

    struct CallEntry: Sendable {
        var control: any CallControl
        var direction: Direction
        /// Outgoing calls count against the user's limit until they end.
        var holdsCallSlot = false
        /// DTMF is accepted once media flows: after progress/answered.
        var mediaFlowing = false
    }

    struct State: Sendable {
        var user: String?
        var closed = false
        var calls: [String: CallEntry] = [:]
        /// Every id this connection has used, so none is reused.
        var usedIDs: Set<String> = []
    }

    /// A number for logs; never reused within the process.
    public let connectionID: Int
    /// The peer's IP address.
    public let address: String
    private let state = NIOLockedValueBox(State())
    private let services: SignalingServices
    private let continuation: AsyncStream<Output>.Continuation
    /// What to write to the WebSocket, in order, ending after a close.
    public let output: AsyncStream<Output>
    let logger: Logger

    private static let counter = NIOLockedValueBox(0)

    init(address: String, services: SignalingServices, logger: Logger) {
        connectionID = Self.counter.withLockedValue { $0 += 1; return $0 }
        self.address = address
        self.services = services
        var logger = logger
        logger[metadataKey: "ws"] = "\(connectionID)"
        self.logger = logger
        (output, continuation) = AsyncStream.makeStream(of: Output.self, bufferingPolicy: .unbounded)
    }

    public var description: String { "ws#\(connectionID)(\(user ?? "-")@\(address))" }

    /// The logged-in user, nil before login.
    public var user: String? { state.withLockedValue { $0.user } }

    // MARK: to the browser

    /// Sends a message about a call (or anything else). A `hangup` ends the
    /// call on this connection; a message about a call the connection no
    /// longer has is dropped, so nothing follows a `hangup`.
    public func send(_ message: ServerMessage) {
        state.withLockedValue { state in
            guard !state.closed else { return }
            if let call = message.call, !message.isError {
                // Nothing follows a `hangup`; calls to the browser start with `ring`.
                guard var entry = state.calls[call] else { return }
                switch message {
                case .progress, .answered:
                    entry.mediaFlowing = true
                    state.calls[call] = entry
                case .hangup:
                    state.calls[call] = nil
                    if entry.holdsCallSlot, let user = state.user { services.callLimits.end(user: user) }
                default: break
                }
            }
            continuation.yield(.text(message.json))
        }
    }

    /// Rings this connection with a call from the phone side. Returns false
    /// when the connection is gone (the call should not count on it).
    @discardableResult
    public func ring(_ id: String, from: String, fromName: String?, to: String, sdp: String,
                     control: any CallControl) -> Bool {
        state.withLockedValue { state in
            guard !state.closed, state.user != nil, !state.usedIDs.contains(id) else { return false }
            state.usedIDs.insert(id)
            state.calls[id] = CallEntry(control: control, direction: .incoming)
            let message = ServerMessage.incoming(call: id, from: from, fromName: fromName, to: to, sdp: sdp)
            continuation.yield(.text(message.json))
            return true
        }
    }

    /// Confirms this connection's answer to an incoming call; DTMF may flow from now on.
    public func confirmAnswer(_ id: String) { send(.answered(call: id, sdp: nil)) }

    func close(code: UInt16, reason: String) {
        state.withLockedValue { state in
            guard !state.closed else { return }
            continuation.yield(.close(code: code, reason: reason))
        }
    }

    // MARK: from the browser

    /// Handles one text frame. Called by the connection's task, one frame at a time.
    func receive(_ text: String) async {
        let message: ClientMessage
        do {
            message = try ClientMessage.parse(text)
        } catch {
            send(error.message)
            return
        }
        let user = self.user
        switch message {
        case .ping:
            send(.pong)
        case .login(let credentials):
            await login(credentials)
        case _ where user == nil:
            send(.error(code: 401, reason: "log in first", call: message.callID))
        case .call(let id, let to, let sdp, let headers):
            placeCall(id: id, to: to, sdp: sdp, headers: headers, user: user!)
        case .hangup(let id):
            guard let entry = take(id) else { return }
            entry.control.clientHangup(self)
        case .reject(let id, let code):
            guard let entry = existing(id, direction: .incoming, verb: "reject") else { return }
            _ = take(id)
            entry.control.clientReject(code, from: self)
        case .ringing(let id):
            existing(id, direction: .incoming, verb: "ring")?.control.clientRinging(self)
        case .answer(let id, let sdp):
            existing(id, direction: .incoming, verb: "answer")?.control.clientAnswer(sdp, from: self)
        case .dtmf(let id, let digits, let duration):
            guard let entry = existing(id) else { return }
            guard entry.mediaFlowing else {
                send(.error(code: 400, reason: "digits are accepted once media flows (after progress or answered)", call: id))
                return
            }
            entry.control.clientDTMF(digits, durationMilliseconds: duration, from: self)
        case .candidate(let id, let candidate):
            existing(id)?.control.clientCandidate(candidate, from: self)
        case .hold(let id, let held):
            guard let entry = existing(id) else { return }
            guard entry.mediaFlowing else {
                send(.error(code: 400, reason: "a call is held once it is answered", call: id))
                return
            }
            entry.control.clientHold(held, from: self)
        case .transfer(let id, let target):
            guard let entry = existing(id) else { return }
            guard entry.mediaFlowing else {
                send(.error(code: 400, reason: "a call is transferred once it is answered", call: id))
                return
            }
            entry.control.clientTransfer(to: target, from: self)
        case .attendedTransfer(let id, let otherID):
            guard let entry = existing(id), let other = existing(otherID) else { return }
            guard entry.mediaFlowing, other.mediaFlowing else {
                send(.error(code: 400, reason: "both calls must be answered to join them", call: id))
                return
            }
            entry.control.clientAttendedTransfer(replacing: other.control, from: self)
        }
    }

    private func login(_ credentials: LoginCredentials) async {
        if user != nil {
            send(.error(code: 400, reason: "already logged in", call: nil))
            return
        }
        if services.throttle.isBlocked(address) {
            refuseLogin(code: 429, close: 4429, reason: "too many failed logins; try again later", why: .throttled)
            return
        }
        let result = await services.authenticate(credentials)
        switch result {
        case .success(let name):
            let accepted = state.withLockedValue { state -> Bool in
                guard !state.closed, state.user == nil else { return false }
                state.user = name
                return true
            }
            guard accepted else { return }
            services.throttle.recordSuccess(address)
            logger.info("logged in", metadata: ["user": "\(name)", "address": "\(address)"])
            send(.welcome(user: name, iceServers: services.iceServers))
            services.backend.clientLoggedIn(self)
        case .failure(let why):
            services.throttle.recordFailure(address)
            refuseLogin(code: 401, close: 4401, reason: "login failed: wrong user, password or token", why: why)
        }
    }

    private func refuseLogin(code: Int, close: UInt16, reason: String, why: LoginRefusal) {
        logger.notice("login refused", metadata: ["address": "\(address)", "why": "\(why)"])
        send(.error(code: code, reason: reason, call: nil))
        self.close(code: close, reason: code == 429 ? "too many failed logins" : "login failed")
    }

    private func placeCall(id: String, to: String, sdp: String, headers: [String: String], user: String) {
        let refusal: SignalingError? = state.withLockedValue { state in
            if state.usedIDs.contains(id) { return SignalingError(400, "call id '\(id)' was used before", call: id) }
            if state.usedIDs.count >= 100_000 { return SignalingError(400, "too many calls on this connection", call: id) }
            return nil
        }
        if let refusal { return send(refusal.message) }
        let request: BrowserCallRequest
        switch Self.checkOffer(sdp) {
        case .success(let offer):
            request = BrowserCallRequest(id: id, user: user, to: to, offer: offer, headers: headers)
        case .failure(let problem):
            state.withLockedValue { _ = $0.usedIDs.insert(id) }
            return send(.error(code: 488, reason: problem.reason, call: id))
        }
        guard services.callLimits.begin(user: request.user) else {
            state.withLockedValue { _ = $0.usedIDs.insert(id) }
            return send(.error(code: 486, reason: "too many calls (at most \(services.callLimits.maximum) at once)", call: id))
        }
        // The backend may answer at once (a refused route sends `hangup`
        // before `placeCall` returns), so the entry exists before it is asked.
        let added = state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            state.usedIDs.insert(id)
            state.calls[id] = CallEntry(control: PendingControl(), direction: .outgoing, holdsCallSlot: true)
            return true
        }
        guard added else {
            services.callLimits.end(user: request.user)
            return
        }
        send(.trying(call: id))
        let control = services.backend.placeCall(request, from: self)
        state.withLockedValue { state in
            if state.calls[id] != nil { state.calls[id]!.control = control }
        }
    }

    /// Why a browser's offer is refused with 488.
    public struct UnusableOffer: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The protocol's 488 cases: not SDP, no audio, no DTLS fingerprint, no
    /// codec the gateway can bridge. The parsed offer, or why it is refused.
    static func checkOffer(_ sdp: String) -> Result<WebRTCAudioDescription, UnusableOffer> {
        guard sdp.utf8.count <= 60_000 else { return .failure(UnusableOffer(reason: "the offer is too large")) }
        let description: SessionDescription
        do {
            description = try SessionDescription.parse(sdp)
        } catch {
            return .failure(UnusableOffer(reason: "the offer is not SDP: \(error)"))
        }
        let audio: WebRTCAudioDescription
        do {
            audio = try WebRTCAudioDescription(description)
        } catch {
            return .failure(UnusableOffer(reason: "the offer cannot be used: \(error)"))
        }
        guard audio.sha256Fingerprint != nil else {
            return .failure(UnusableOffer(reason: "the offer has no sha-256 DTLS fingerprint"))
        }
        guard audio.codecs.contains(where: { $0.isNamed("opus") || $0.isNamed("PCMU") || $0.isNamed("PCMA") }) else {
            return .failure(UnusableOffer(reason: "the offer has no codec in common with the gateway (opus, PCMU or PCMA)"))
        }
        return .success(audio)
    }

    private func existing(_ id: String, direction: Direction? = nil, verb: String = "") -> CallEntry? {
        let entry = state.withLockedValue { $0.calls[id] }
        guard let entry else {
            send(.error(code: 481, reason: "no call '\(id)' on this connection", call: id))
            return nil
        }
        if let direction, entry.direction != direction {
            send(.error(code: 400, reason: "cannot \(verb) a call this connection placed", call: id))
            return nil
        }
        return entry
    }

    /// Removes a call the client ends; 481 when it has none such.
    private func take(_ id: String) -> CallEntry? {
        guard existing(id) != nil else { return nil }
        return state.withLockedValue { state in
            let entry = state.calls.removeValue(forKey: id)
            if let entry, entry.holdsCallSlot, let user = state.user { services.callLimits.end(user: user) }
            return entry
        }
    }

    /// The WebSocket closed: every call on it ends toward the phone side.
    func closed() {
        let calls = state.withLockedValue { state -> [CallEntry] in
            guard !state.closed else { return [] }
            state.closed = true
            let calls = Array(state.calls.values)
            if let user = state.user {
                for call in calls where call.holdsCallSlot { services.callLimits.end(user: user) }
            }
            state.calls = [:]
            return calls
        }
        continuation.finish()
        for call in calls { call.control.clientGone(self) }
        if user != nil { services.backend.clientClosed(self) }
    }

    /// Calls in progress on this connection (tests and metrics).
    public var callCount: Int { state.withLockedValue { $0.calls.count } }

    func hasCall(_ id: String) -> Bool { state.withLockedValue { $0.calls[id] != nil } }
}

extension ServerMessage {
    var isError: Bool { if case .error = self { true } else { false } }
}

/// Stands in for the backend's control while `placeCall` runs; frames are
/// handled one at a time, so no client event can reach it.
private final class PendingControl: CallControl {
    func clientHangup(_ client: SignalingClient) {}
    func clientGone(_ client: SignalingClient) {}
    func clientDTMF(_ digits: String, durationMilliseconds: Int, from client: SignalingClient) {}
}
