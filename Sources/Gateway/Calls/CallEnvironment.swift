import Config
import Dialplan
import Logging
import Media
import NIOCore
import Records
import SIP

/// All a call may ask of the gateway around it: the SIP user agent, the
/// configuration's facts, media, the browsers of a user, the dialplan,
/// records, and the table of calls in progress. `Gateway` is the real one;
/// the call layer's unit tests give calls their own, on an embedded loop.
protocol CallEnvironment: AnyObject, Sendable {
    /// The loop every call is confined to: the SIP user agent's.
    var loop: any EventLoop { get }
    var logger: Logger { get }
    var userAgent: SIPUserAgent { get }
    var config: TielineConfig { get }
    var recordStore: (any CallRecordStore)? { get }
    /// A new media endpoint for one call (sockets bound on a media loop):
    /// on the loop of `peer` when given, so that the two can be joined.
    func makeMedia(near peer: (any MediaEndpoint)?) async throws -> any MediaEndpoint
    /// A new relay's media (a trunk's call relayed to another SIP peer),
    /// its offer/answer done on `loop`; the future fires there.
    func makeRelay() -> EventLoopFuture<any RelayEndpoint>
    /// The logged-in connections of a user, oldest first.
    func connections(of user: String) -> [any BrowserConnection]
    func makeDialplanRun(_ call: DialplanCall, log: Logger) -> DialplanRun
    /// Where a trunk is reached: a name is looked up off the loop; the
    /// future fires on `loop`.
    func endpoint(for trunk: TrunkConfig) -> EventLoopFuture<SIPEndpoint>
    /// The gateway's table of calls, for leak checks and a clean stop.
    func callStarted(_ call: AnyObject)
    func callEnded(_ call: AnyObject)
}

extension CallEnvironment {
    /// The address our SDP names toward trunks.
    var publicMediaAddress: String { config.media.publicAddress }

    /// The INVITE toward a trunk: request URI and To for the number, From
    /// for the caller ID, the trunk's credentials, the ring timeout.
    func inviteParameters(trunk: TrunkConfig, endpoint: SIPEndpoint, number: String, callerID: String?,
                          body: [UInt8]) -> OutgoingInvite.Parameters {
        let requestURI = SIPURI(scheme: "sip", user: number, host: trunk.address,
                                port: trunk.port == SIPTransport(trunk.transport).defaultPort ? nil : trunk.port)
        var toURI = requestURI
        toURI.port = nil
        let fromUser = callerID ?? trunk.username ?? "tieline"
        let from = NameAddress(uri: SIPURI(scheme: "sip", user: fromUser, host: trunk.fromDomain))
        var parameters = OutgoingInvite.Parameters(
            requestURI: requestURI, from: from, to: NameAddress(uri: toURI), destination: endpoint,
            body: body, credentials: trunk.credentials, ringTimeout: TimeAmount(config.sip.inviteTimeout),
            responseTimeout: TimeAmount(trunk.responseTimeout),
            sessionTimer: trunk.sessionExpiresSeconds == 0
                ? .off : .on(SessionTimerPolicy(interval: trunk.sessionExpiresSeconds)))
        parameters.reliableProvisionals = OutgoingInvite.ReliableProvisionals(rawValue: trunk.prack.rawValue) ?? .supported
        return parameters
    }

    /// A new media endpoint with its first offer/answer step (`prepare`)
    /// done; an endpoint that cannot take the step is closed again.
    func prepareMedia<T: Sendable>(near peer: (any MediaEndpoint)? = nil,
                                   _ prepare: @Sendable (any MediaEndpoint) async throws -> T) async
        -> Result<(media: any MediaEndpoint, value: T), MediaPreparationFailure> {
        let media: any MediaEndpoint
        do {
            media = try await makeMedia(near: peer)
        } catch {
            return .failure(.noPorts)
        }
        do {
            return .success((media, try await prepare(media)))
        } catch {
            await media.close(reason: "offer refused")
            return .failure(.refused(error))
        }
    }

    /// Closes a call's media. With a status (the call's end), the record is
    /// ended with the media's last statistics, and only then does the call
    /// count as gone: stopping the gateway waits for that, so no record's
    /// end is lost at shutdown.
    func closeMedia(_ media: (any MediaEndpoint)?, of call: AnyObject & Sendable, recorder: CallRecorder?,
                    status: Int?, reason: String) {
        guard let media else {
            if let status {
                recorder?.ended(status: status, reason: reason, media: nil)
                callEnded(call)
            }
            return
        }
        let recorder = LoopBound(recorder)
        let loop = self.loop
        Task {
            let statistics = status == nil ? nil : try? await media.statistics()
            await media.close(reason: "call ended")
            guard let status else { return }
            loop.execute {
                recorder.value?.ended(status: status, reason: reason, media: statistics)
                self.callEnded(call)
            }
        }
    }
}

/// Why `prepareMedia` gave no endpoint.
enum MediaPreparationFailure: Error {
    /// None could be made (no media ports free).
    case noPorts
    /// The offer or answer could not be used.
    case refused(any Error)
}

extension TrunkConfig {
    /// `media_encryption` as the media layer takes it.
    var phoneEncryption: PhoneEncryption { PhoneEncryption(rawValue: mediaEncryption.rawValue) ?? .off }

    /// The digest credentials, when the trunk has a username and password.
    var credentials: SIPCredentials? {
        guard let username = authUsername ?? username, let password, !username.isEmpty else { return nil }
        return SIPCredentials(username: username, password: password, realm: realm)
    }
}

extension Gateway: CallEnvironment {
    var loop: any EventLoop { eventLoop }

    func makeMedia(near peer: (any MediaEndpoint)?) async throws -> any MediaEndpoint {
        guard let media else { throw GatewayError.configuration("no media engine") }
        return try await media.makeSession(on: (peer as? MediaSession)?.eventLoop)
    }

    func makeRelay() -> EventLoopFuture<any RelayEndpoint> {
        guard let media else { return loop.makeFailedFuture(GatewayError.configuration("no media engine")) }
        return media.makeRelaySession(controlledFrom: loop).map { $0 as any RelayEndpoint }
    }

    func connections(of user: String) -> [any BrowserConnection] { browsers.connections(of: user) }

    func makeDialplanRun(_ call: DialplanCall, log: Logger) -> DialplanRun {
        dialplan.makeRun(call, log: log, down: trunkHealth.downTrunks)
    }

    func callStarted(_ call: AnyObject) { browserCallStarted(call) }
    func callEnded(_ call: AnyObject) { browserCallEnded(call) }
}
