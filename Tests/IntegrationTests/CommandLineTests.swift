import Foundation
import XCTest

/// The `tieline` executable as an operator runs it.
final class CommandLineTests: XCTestCase {
    var tieline: String {
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("tieline").path
    }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tieline)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testCheckAcceptsTheShippedConfiguration() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/tieline.yaml").path
        let result = try run(["check", "--config", shipped])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("OK"), result.output)
    }

    func testCheckNamesFileAndLineOfAMistakeAndFails() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try """
        sip:
          listen:
            - { transport: udp, address: "127.0.0.1:5060" }
          public_adress: 127.0.0.1
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(["check", "--config", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("\(path):4:"), result.output)
        XCTAssertTrue(result.output.contains("public_adress"), result.output)
    }
}
