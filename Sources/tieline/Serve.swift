import ArgumentParser
import Gateway
import Logging
import Media
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `tieline serve`: run the gateway until SIGINT or SIGTERM, then
/// unregister, hang up and close cleanly. SIGHUP reloads the dialplan.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let level = Logger.Level(rawValue: config.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tieline")
        let media: MediaEngine
        do {
            media = try MediaEngine(configuration: config.media.engineConfiguration(),
                                    group: MultiThreadedEventLoopGroup.singleton,
                                    certificate: config.media.loadDTLSCertificate(), logger: logger)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let gateway = Gateway(config: config, media: media, logger: logger)
        let web: WebSetup.Prepared
        do {
            web = try WebSetup.prepare(config: config, gateway: gateway, logger: logger)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        // SIGHUP's default action would end the process: take it over first.
        let reloads = reloadOnHangup(gateway)
        let listeners: [Gateway.BoundListener]
        do {
            listeners = try await gateway.start()
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        for listener in listeners {
            say("Tieline SIP listening on \(listener.transport.uriParameter) \(listener.address.hostPortText)")
        }
        let webListeners = try await web.server.start()
        if let made = web.certificate {
            say("HTTPS certificate \(config.web.certificate)\(made.created ? " (new, self-signed)" : ""), "
                + "SHA-256 \(made.fingerprint)")
        }
        for listener in webListeners {
            let host = listener.address.ipAddress == "0.0.0.0" || listener.address.ipAddress == "::"
                ? config.sip.publicAddress : (listener.address.ipAddress ?? "localhost")
            let shown = host.hasPrefix("127.") ? "localhost" : host.contains(":") ? "[\(host)]" : host
            say("Web phone: \(listener.secure ? "https" : "http")://\(shown):\(listener.address.port ?? 0)/")
        }
        say("Media on UDP \(config.media.rtpPorts.lowerBound)-\(config.media.rtpPorts.upperBound), "
            + "DTLS fingerprint sha-256 \(media.certificate.fingerprintText)")
        say("Public SIP address: \(config.sip.publicAddress). Stop with Ctrl-C.")
        await waitForTerminationSignal()
        reloads.cancel()
        logger.info("shutting down")
        await web.server.stop()
        await gateway.stop()
    }
}

/// Writes a line to standard output at once, even when it is a pipe
/// (print's buffer would hold it back until exit).
func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress, $0.count) }
}

/// Reloads the dialplan on every SIGHUP (a refused script is logged by the gateway).
func reloadOnHangup(_ gateway: Gateway) -> DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler { Task { try? await gateway.reloadDialplan() } }
    source.resume()
    return source
}

/// Suspends until SIGINT or SIGTERM arrives.
func waitForTerminationSignal() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let box = SignalBox(continuation)
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { box.resume() }
            source.resume()
            box.keep(source)
        }
    }
}

import Dispatch
import Foundation

final class SignalBox: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ source: DispatchSourceSignal) {
        lock.lock()
        sources.append(source)
        lock.unlock()
    }

    func resume() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }
}


