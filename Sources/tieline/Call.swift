import Config
import ArgumentParser
import Gateway
import Logging
import NIOCore

/// `tieline call`: place one call through a trunk, hold it, hang up, and
/// report how it went. A debugging aid for trunk setup.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Place a test call through a trunk.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The trunk to call through.") var trunk: String
    @Option(help: "The number to call.") var to: String
    @Option(help: "Seconds to stay connected after the answer.") var hold: Double = 2

    func run() async throws {
        let config = try ConfigLoader.load(path: options.config)
        var logger = Logger(label: "tieline")
        logger.logLevel = .warning
        var local = config
        // A client needs no fixed listener ports: take free ones on loopback or any.
        local.sip.listeners = local.sip.listeners.map { listener in
            var copy = listener
            copy.port = 0
            return copy
        }
        let gateway = Gateway(config: local, logger: logger)
        _ = try await gateway.start()
        let call = try await gateway.call(trunk: trunk, to: to)
        do {
            let response = try await call.answered.get()
            print("answered: \(response.statusCode) \(response.reasonPhrase)")
            try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
            call.hangup()
            print("ended: \(try await call.ended.get())")
            await gateway.stop()
        } catch {
            print("failed: \(error)")
            await gateway.stop()
            throw ExitCode(2)
        }
    }
}
