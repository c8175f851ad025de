import ArgumentParser
import Foundation
import Gateway

/// `tieline route`: what the dialplan does with a call, without placing it.
struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the dialplan does with a call, without placing it.",
        discussion: """
            Each bridge is taken as answered, unless --fail CODE makes every bridge fail with \
            that status, which shows the failover order. Exits 1 on a script error.
            """)

    @OptionGroup var options: ConfigOption
    @Option(help: "The browser user placing the call.") var user: String?
    @Option(help: "The trunk the call comes from (instead of --user).") var trunk: String?
    @Option(help: "The dialled number, extension or name.") var to: String
    @Option(help: "The caller's number (calls from a trunk).") var from: String?
    @Option(help: "Every bridge fails with this SIP status.") var fail: Int?
    @Option(help: "What collect_digits receives.") var digits: String = ""
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (user == nil) != (trunk == nil) else { throw ValidationError("give either --user or --trunk") }
        if let fail, !(300...699).contains(fail) { throw ValidationError("--fail takes a status from 300 to 699") }
    }

    func run() async throws {
        let config = try options.load()
        if let user, config.user(named: user) == nil { printError("note: no user named '\(user)' in the configuration") }
        if let trunk, config.trunk(named: trunk) == nil {
            printError("no trunk named '\(trunk)' in the configuration")
            throw ExitCode(1)
        }
        do {
            let decision = try RouteDecision.evaluate(config: config, user: user, trunk: trunk, to: to, from: from,
                                                      failCode: fail, digits: digits)
            print(json ? decision.json : decision.text)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
