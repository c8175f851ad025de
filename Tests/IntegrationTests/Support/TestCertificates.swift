import Foundation

/// A self-signed ECDSA P-256 certificate for CN=localhost with
/// subjectAltName IP:127.0.0.1 and DNS:localhost, made with the `openssl`
/// command in a temporary directory (never in the repository). P-256 because
/// that is what WebRTC peers accept for DTLS too (peers.md).
struct TestCertificate: Sendable {
    let directory: URL
    /// The certificate, PEM.
    let certificatePath: String
    /// Its private key, PEM, unencrypted.
    let keyPath: String
    /// Certificate and key in one PEM file, the form `socat cert=` also takes.
    let combinedPath: String

    /// The test process's certificate: made on first use, then shared.
    static func make() throws -> TestCertificate {
        try cache.certificate()
    }

    private static let cache = Cache()

    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var made: TestCertificate?

        func certificate() throws -> TestCertificate {
            lock.lock()
            defer { lock.unlock() }
            if let made { return made }
            let certificate = try TestCertificate.generate()
            made = certificate
            return certificate
        }
    }

    private static func generate() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-cert-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = TestCertificate(directory: directory,
                                          certificatePath: directory.appendingPathComponent("cert.pem").path,
                                          keyPath: directory.appendingPathComponent("key.pem").path,
                                          combinedPath: directory.appendingPathComponent("combined.pem").path)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: try executablePath("openssl"))
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                             "-nodes", "-days", "7", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-keyout", certificate.keyPath, "-out", certificate.certificatePath]
        let output = Pipe()
        openssl.standardInput = FileHandle.nullDevice
        openssl.standardOutput = output
        openssl.standardError = output
        try openssl.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw ChildProcessError.failed("openssl req", text) }
        let pem = try Data(contentsOf: URL(fileURLWithPath: certificate.certificatePath))
            + Data(contentsOf: URL(fileURLWithPath: certificate.keyPath))
        try pem.write(to: URL(fileURLWithPath: certificate.combinedPath))
        return certificate
    }
}
