import Config
import ArgumentParser
import Dialplan
import Gateway

/// `tieline check`: validate the configuration, and compile the dialplan it
/// names, and exit non-zero with file:line and a plain sentence when
/// something is wrong.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration file.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        do {
            let config = try ConfigLoader.load(path: options.config)
            if config.media.dtlsCertificate != nil { _ = try config.media.loadDTLSCertificate() }
            _ = try config.media.engineConfiguration()
            _ = try DialplanScript.compile(path: config.dialplan)
            print("\(options.config): OK (\(config.sip.listeners.count) listeners, \(config.users.count) users, "
                + "\(config.trunks.count) trunks, dialplan \(config.dialplan) compiles)")
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
