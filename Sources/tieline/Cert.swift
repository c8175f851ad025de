import ArgumentParser
import Gateway
import Signaling

/// `tieline cert`: makes the self-signed HTTPS certificate the configuration
/// names (kept if it exists, unless --force) and prints its fingerprint.
struct Cert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a self-signed HTTPS certificate for the web phone and print its fingerprint.")

    @OptionGroup var options: ConfigOption
    @Flag(help: "Replace the existing certificate.") var force = false

    func run() async throws {
        let config = try options.load()
        do {
            let web = config.web
            let names = config.webCertificateNames
            let made: WebCertificate.Made
            if force {
                made = .init(fingerprint: try WebCertificate.make(certificatePath: web.certificate, keyPath: web.privateKey,
                                                                  names: names), created: true)
            } else {
                made = try WebCertificate.ensure(certificatePath: web.certificate, keyPath: web.privateKey, names: names)
            }
            print("\(web.certificate)\(made.created ? " (new)" : " (kept; --force replaces it)")")
            print("SHA-256 \(made.fingerprint)")
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

/// `tieline passwd`: a bcrypt hash for `password_hash`, from standard input.
struct Passwd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a password hash for a user's password_hash (reads the password from standard input).")

    func run() async throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            printError("give the password on standard input, e.g. `read -s p; echo \"$p\" | tieline passwd`")
            throw ExitCode(1)
        }
        print(UserDirectory.hash(password))
    }
}
