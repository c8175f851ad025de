import Foundation

/// socat as a TLS front for sipp, since Debian's sipp is built without TLS
/// (no `-t l1`). Two directions:
///
///     Tieline ──TLS──▶ serverFront (OPENSSL-LISTEN) ──TCP──▶ sipp -t t1 (UAS)
///     sipp -t t1 (UAC) ──TCP──▶ clientFront (TCP-LISTEN) ──TLS──▶ Tieline
///
/// Both fork a child per connection, so one front carries any number of
/// connections; each TLS connection is one TCP connection on the other side.
/// Peer certificates are not verified (`verify=0`): the tests are about SIP
/// over TLS, not about this self-signed certificate.
final class SocatTLSFront: ChildProcess, @unchecked Sendable {
    let listenPort: Int

    /// A TLS server on 127.0.0.1:`listenPort` with `certificate`, passing
    /// each connection on to plain TCP 127.0.0.1:`port` (sipp's `-t t1` port).
    static func serverFront(listenPort: Int, forwardTo port: Int, certificate: TestCertificate) throws -> SocatTLSFront {
        try SocatTLSFront(listenPort: listenPort, addresses: [
            "OPENSSL-LISTEN:\(listenPort),bind=127.0.0.1,reuseaddr,fork,verify=0,"
                + "cert=\(certificate.certificatePath),key=\(certificate.keyPath)",
            "TCP:127.0.0.1:\(port)",
        ])
    }

    /// A plain TCP listener on 127.0.0.1:`listenPort` that opens a TLS
    /// connection to 127.0.0.1:`port` (Tieline's TLS listener) for each
    /// connection it accepts.
    static func clientFront(listenPort: Int, connectTo port: Int) throws -> SocatTLSFront {
        try SocatTLSFront(listenPort: listenPort, addresses: [
            "TCP-LISTEN:\(listenPort),bind=127.0.0.1,reuseaddr,fork",
            "OPENSSL:127.0.0.1:\(port),verify=0",
        ])
    }

    /// Stops the listener and any connection it still carries.
    func stop() { terminate() }

    /// Starts socat and returns once it listens; throws if it exits first or
    /// does not listen within 5 s.
    private init(listenPort: Int, addresses: [String]) throws {
        self.listenPort = listenPort
        // -d -d: notices (each connection, each error) go to stderr, for diagnostics.
        try super.init(name: "socat", executable: try executablePath("socat"), arguments: ["-d", "-d"] + addresses)
        try waitUntilListening(timeout: 5)
    }

    /// Polls the kernel's socket table, not by connecting: a probe
    /// connection would make the client front open a TLS connection to
    /// Tieline, and the server front log a failed handshake.
    private func waitUntilListening(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !isTCPListening(listenPort) {
            guard process.isRunning else { throw ChildProcessError.failed("socat", diagnostics) }
            guard Date() < deadline else {
                terminate()
                throw ChildProcessError.timedOut("socat listening on \(listenPort)", diagnostics)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}
