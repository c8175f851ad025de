import Config
import ArgumentParser
import Gateway

@main
struct Tieline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tieline",
        abstract: "A WebRTC-to-SIP gateway.",
        subcommands: [Serve.self, Check.self, Route.self, RecordsCommand.self, Call.self, Cert.self, Passwd.self])
}

/// `--config FILE`, shared by the subcommands.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = "config/tieline.yaml"

    /// The checked configuration; a problem is printed and ends the command with status 1.
    func load() throws -> TielineConfig {
        do {
            return try ConfigLoader.load(path: config)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
