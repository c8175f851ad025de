import Foundation
import Yams

/// Reads `tieline.yaml` into a checked `TielineConfig`.
///
/// Every problem comes back as one `ConfigError` naming the file, line and
/// column, and nothing in the file can crash the loader: it is what
/// `tieline check` runs, and what `serve` runs before opening any socket.
public enum ConfigLoader {
    /// Larger files are refused before parsing; a real configuration is a few KiB.
    public static let maximumFileSize = 1 << 20

    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> TielineConfig {
        let yaml = try readText(path: path)
        return try load(yaml: yaml, file: path, environment: environment)
    }

    /// Loads from text; `file` names it in messages and its directory anchors relative paths.
    public static func load(yaml: String, file: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> TielineConfig {
        let absoluteFile = ConfigContext.normalize(
            file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file)
        let directory = ConfigContext.normalize(absoluteFile + "/..")
        let context = ConfigContext(file: file, directory: directory, environment: environment)
        let root = try YAMLDocument.compose(yaml, context: context)
        return try decode(root, absoluteFile: absoluteFile, context: context)
    }

    static func readText(path: String) throws(ConfigError) -> String {
        func fail(_ message: String) -> ConfigError {
            ConfigError(file: path, line: 0, column: 0, message: message)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("cannot read the configuration: no such file")
        }
        if isDirectory.boolValue { throw fail("cannot read the configuration: it is a directory") }
        // Read at most one byte past the limit, so /dev/zero or a huge file cannot exhaust memory.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw fail("cannot read the configuration (check its permissions)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            throw fail("cannot read the configuration: \(error.localizedDescription)")
        }
        guard data.count <= maximumFileSize else {
            throw fail("the configuration is larger than \(maximumFileSize) bytes")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let line = firstInvalidUTF8Line(data)
            throw ConfigError(file: path, line: line, column: 0, message: "the configuration is not valid UTF-8")
        }
        return text
    }

    private static func firstInvalidUTF8Line(_ data: Data) -> Int {
        var lineNumber = 1
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(validating: line, as: UTF8.self) == nil { return lineNumber }
            lineNumber += 1
        }
        return 0
    }

    private static let topLevelKeys = [
        "log_level", "data_directory", "sip", "media", "users", "trunks", "dialplan", "records", "web", "routing",
    ]

    private static func decode(_ root: Node?, absoluteFile: String, context: ConfigContext)
        throws(ConfigError) -> TielineConfig {
        // An empty file is a configuration with every default.
        let top = try MappingReader(root ?? Node.mapping(.init([])), place: "at the top level",
                                    keys: topLevelKeys, context: context)
        let logLevel = try top.choice("log_level", TielineConfig.LogLevel.self) ?? .info
        let dataDirectory = context.absolutePath(try top.string("data_directory") ?? "data")
        let sip = try decodeSIP(top.mapping("sip", place: "in sip", keys: sipKeys), context: context)
        let media = try decodeMedia(top.mapping("media", place: "in media", keys: mediaKeys),
                                    sip: sip, context: context)
        let users = try decodeUsers(top.sequence("users") ?? [], context: context)
        let trunks = try decodeTrunks(top.sequence("trunks") ?? [], context: context)
        let dialplan = context.absolutePath(try top.string("dialplan") ?? "dialplans/default.lua")
        let records = try decodeRecords(top.mapping("records", place: "in records", keys: recordsKeys),
                                        dataDirectory: dataDirectory, context: context)
        var config = TielineConfig(file: absoluteFile, logLevel: logLevel, dataDirectory: dataDirectory,
                                   sip: sip, media: media, users: users, trunks: trunks,
                                   dialplan: dialplan, records: records)
        config.web = try decodeWeb(top.mapping("web", place: "in web", keys: webKeys), dataDirectory: dataDirectory,
                                   context: context)
        config.routing = try decodeRouting(top.mapping("routing", place: "in routing", keys: routingKeys),
                                           users: users, context: context)
        return config
    }

    private static let recordsKeys = ["backend", "path", "postgres_url", "instance"]

    private enum RecordsBackendName: String, CaseIterable {
        case sqlite, postgres, off
    }

    private static func decodeRecords(_ reader: MappingReader?, dataDirectory: String,
                                      context: ConfigContext) throws(ConfigError) -> RecordsConfig {
        let defaultPath = context.absolutePath("records.sqlite", base: dataDirectory)
        guard let reader else { return RecordsConfig(backend: .sqlite(path: defaultPath)) }
        var records = try decodeRecordsBackend(reader, defaultPath: defaultPath, dataDirectory: dataDirectory,
                                               context: context)
        if let instance = try reader.string("instance") {
            guard instance.count <= 64, instance.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw context.error(reader.mark(of: "instance"), "instance must be up to 64 letters, digits, '.', '_' "
                    + "or '-', got \(ConfigContext.quoted(instance))")
            }
            records.instance = instance
        }
        return records
    }

    private static func decodeRecordsBackend(_ reader: MappingReader, defaultPath: String, dataDirectory: String,
                                             context: ConfigContext) throws(ConfigError) -> RecordsConfig {
        switch try reader.choice("backend", RecordsBackendName.self) ?? .sqlite {
        case .off:
            for key in ["path", "postgres_url"] where reader.node(key) != nil {
                throw context.error(reader.mark(of: key), "\(key) is set but backend is off")
            }
            return RecordsConfig(backend: .off)
        case .sqlite:
            // A URL with the backend left at its default is almost surely a forgotten line.
            if reader.node("postgres_url") != nil {
                throw context.error(reader.mark(of: "postgres_url"),
                                    "postgres_url is set but backend is sqlite (add backend: postgres)")
            }
            let path = try reader.string("path").map { context.absolutePath($0, base: dataDirectory) }
            return RecordsConfig(backend: .sqlite(path: path ?? defaultPath))
        case .postgres:
            if reader.node("path") != nil {
                throw context.error(reader.mark(of: "path"), "path applies to the sqlite backend only")
            }
            guard reader.node("postgres_url") != nil else { throw reader.missing("postgres_url") }
            let url = try reader.requiredString("postgres_url", secret: true)
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw context.error(reader.mark(of: "postgres_url"),
                                    "postgres_url must start with postgres:// or postgresql://")
            }
            return RecordsConfig(backend: .postgres(url: url))
        }
    }
}
