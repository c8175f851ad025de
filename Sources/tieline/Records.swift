import ArgumentParser
import Foundation
import Gateway
import Logging
import Records

/// `tieline records`: the newest call records, as a table or JSON.
struct RecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "List recent call records (newest first).")

    @OptionGroup var options: ConfigOption
    @Option(help: "How many records.") var limit: Int = 20
    @Flag(help: "Print a JSON array instead of a table.") var json = false

    func validate() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit takes 1 to 100000") }
    }

    func run() async throws {
        let config = try options.load()
        var logger = Logger(label: "tieline.records")
        logger.logLevel = .warning
        do {
            guard let store = try config.records.makeStore(logger: logger) else {
                printError("records are off in \(options.config) (records.backend: off)")
                throw ExitCode(1)
            }
            try await store.open()
            let records = try await store.recent(limit: limit)
            await store.close()
            if !json && records.isEmpty {
                print("no call records yet in \(config.records)")
            } else {
                print(json ? RecordsOutput.json(records) : RecordsOutput.table(records))
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
