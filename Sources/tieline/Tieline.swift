import ArgumentParser

@main
struct Tieline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tieline",
        abstract: "A WebRTC-to-SIP gateway.",
        subcommands: [Serve.self, Check.self, Call.self, Cert.self, Passwd.self])
}

/// `--config FILE`, shared by the subcommands.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = "config/tieline.yaml"
}
