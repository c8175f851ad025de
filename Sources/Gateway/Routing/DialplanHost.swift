import Config
import Dialplan
import Foundation
import Logging
import NIOCore

/// The compiled dialplan the gateway runs for each call, and its reloads.
///
/// A reload compiles the file anew and swaps it in for calls that start
/// afterwards; calls in progress keep the run (and so the script) they began
/// with. A script that does not compile is refused with its error and the
/// old one keeps serving. Reloads come from SIGHUP (`tieline serve`), from
/// the file's modification time changing (checked every second), or from
/// `Gateway.reloadDialplan()`. Confined to the gateway's event loop.
final class DialplanHost: @unchecked Sendable {
    let path: String
    let context: DialplanContext
    let limits: DialplanLimits
    private(set) var script: DialplanScript
    /// Counts successful loads, the first one included.
    private(set) var generation = 1
    private var modified: Date?
    private var watch: RepeatedTask?
    private let logger: Logger

    init(config: TielineConfig, logger: Logger) throws(DialplanError) {
        path = config.dialplan
        context = Self.context(config)
        limits = DialplanLimits(instructions: config.routing.instructionLimit,
                                memoryBytes: config.routing.memoryLimitKB * 1024)
        self.logger = logger
        modified = Self.modificationDate(path)
        script = try DialplanScript.compile(path: path)
    }

    /// What scripts see of the configuration.
    static func context(_ config: TielineConfig) -> DialplanContext {
        DialplanContext(
            users: config.users.map { .init(name: $0.name, extension: $0.extension, international: $0.international) },
            trunks: config.trunks.map(\.name), dids: config.routing.dids,
            homeCountryCode: config.routing.homeCountry, variables: config.routing.variables)
    }

    /// A run for `call`; `trunks()` leaves out the trunks in `down`.
    func makeRun(_ call: DialplanCall, log: Logger, down: Set<String> = []) -> DialplanRun {
        var context = self.context
        context.downTrunks = down
        return DialplanRun(script: script, call: call, context: context, limits: limits) { level, message in
            switch level {
            case .debug: log.debug("dialplan: \(message)")
            case .info: log.info("dialplan: \(message)")
            case .warning: log.warning("dialplan: \(message)")
            case .error: log.error("dialplan: \(message)")
            }
        }
    }

    /// Compiles the file and swaps it in; on failure the old script stays.
    func reload() throws(DialplanError) {
        modified = Self.modificationDate(path)
        do {
            script = try DialplanScript.compile(path: path)
        } catch {
            logger.error("dialplan \(path) refused, the previous one keeps serving: \(error)")
            throw error
        }
        generation += 1
        logger.notice("dialplan \(path) reloaded")
    }

    /// Reloads whenever the file's modification time changes.
    func startWatching(on loop: any EventLoop) {
        watch = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            let now = Self.modificationDate(path)
            guard now != nil, now != modified else { return }
            try? reload()
        }
    }

    func stopWatching() {
        watch?.cancel()
        watch = nil
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
