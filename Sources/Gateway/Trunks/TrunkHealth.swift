import Config
import Logging
import NIOCore
import SIP

/// OPTIONS pings to each trunk that asks for them (`options_interval_s`).
/// A trunk that answers nothing within its `response_timeout_ms` is down:
/// `trunks()` in the dialplan skips it, so calls go to the next one at once
/// instead of each waiting out the timeout. The first answer again makes it
/// up. Trunks start up (nothing is known against them). Its state is
/// bound to the SIP loop, and checked there.
final class TrunkHealth: Sendable {
    private struct State {
        var down: Set<String> = []
        var tasks: [RepeatedTask] = []
    }

    private let userAgent: SIPUserAgent
    private let logger: Logger
    private let resolve: @Sendable (TrunkConfig) -> EventLoopFuture<SIPEndpoint>
    private let state: NIOLoopBoundBox<State>

    init(userAgent: SIPUserAgent, logger: Logger,
         resolve: @escaping @Sendable (TrunkConfig) -> EventLoopFuture<SIPEndpoint>) {
        self.userAgent = userAgent
        self.logger = logger
        self.resolve = resolve
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: userAgent.eventLoop)
    }

    /// The trunks marked down now.
    var downTrunks: Set<String> { state.value.down }

    func start(_ trunks: [TrunkConfig]) {
        for trunk in trunks where trunk.optionsInterval > .zero {
            let interval = TimeAmount(trunk.optionsInterval)
            state.value.tasks.append(userAgent.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
                self?.ping(trunk)
            })
        }
    }

    func stop() {
        for task in state.value.tasks { task.cancel() }
        state.value.tasks = []
    }

    private func ping(_ trunk: TrunkConfig) {
        resolve(trunk).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                mark(trunk.name, up: false, why: "\(error)")
            case .success(let endpoint):
                let uri = SIPURI(scheme: "sip", host: trunk.address,
                                 port: trunk.port == SIPTransport(trunk.transport).defaultPort ? nil : trunk.port)
                let from = SIPURI(scheme: "sip", user: trunk.username ?? "tieline", host: trunk.fromDomain)
                userAgent.ping(endpoint, requestURI: uri, from: from, deadline: TimeAmount(trunk.responseTimeout)) { [weak self] result in
                    switch result {
                    case .success: self?.mark(trunk.name, up: true, why: "")
                    case .failure(let failure): self?.mark(trunk.name, up: false, why: failure.reason)
                    }
                }
            }
        }
    }

    private func mark(_ name: String, up: Bool, why: String) {
        if up, state.value.down.remove(name) != nil {
            logger.notice("trunk \(name) is up again: it answered OPTIONS")
        } else if !up, state.value.down.insert(name).inserted {
            logger.warning("trunk \(name) is down: OPTIONS got \(why); trunks() skips it until it answers")
        }
    }
}
