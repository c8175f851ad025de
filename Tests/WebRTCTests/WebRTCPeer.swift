import Foundation
import XCTest

/// The aiortc test peer (`Peers/webrtc_peer.py`) as a child process: it is
/// the browser (real ICE, DTLS-SRTP and Opus) and the phone (a plain RTP
/// socket) at once, and speaks JSON lines on stdin/stdout.
final class WebRTCPeer: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let lock = NSCondition()
    private var buffered = Data()
    private var lines: [[String: Any]] = []
    private var stderrText = Data()
    private var closed = false

    /// The venv `make test` creates, or `TIELINE_PYTHON`.
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["TIELINE_PYTHON"] { return configured }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".venv/bin/python").path
    }

    init(arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw PeerError("no Python with aiortc at \(Self.python): `make test` creates the venv")
        }
        guard let script = Bundle.module.url(forResource: "Peers/webrtc_peer", withExtension: "py") else {
            throw PeerError("the test bundle has no Peers/webrtc_peer.py")
        }
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [script.path] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.received(handle.availableData)
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            lock.lock()
            stderrText.append(data)
            lock.unlock()
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// What the peer printed on stderr so far (for failure messages).
    var diagnostics: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: stderrText.suffix(4000), as: UTF8.self)
    }

    func send(_ message: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(0x0A)
        input.fileHandleForWriting.write(data)
    }

    /// The next JSON line, waiting up to `timeout` seconds.
    func next(timeout: TimeInterval) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while lines.isEmpty {
            if closed { throw PeerError("the peer exited without a reply; stderr:\n\(String(decoding: stderrText.suffix(4000), as: UTF8.self))") }
            if !lock.wait(until: deadline) {
                throw PeerError("no reply from the peer within \(Int(timeout)) s")
            }
        }
        return lines.removeFirst()
    }

    /// Waits for the final `{"result": ...}` line and the process's exit.
    func result(timeout: TimeInterval) throws -> PeerResult {
        let message = try next(timeout: timeout)
        guard let result = message["result"] as? [String: Any] else {
            throw PeerError("expected a result, got \(message)")
        }
        process.waitUntilExit()
        return PeerResult(result)
    }

    private func received(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        if data.isEmpty {
            closed = true
            lock.broadcast()
            return
        }
        buffered.append(data)
        while let newline = buffered.firstIndex(of: 0x0A) {
            let line = buffered[buffered.startIndex..<newline]
            buffered.removeSubrange(buffered.startIndex...newline)
            if let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] {
                lines.append(object)
            }
        }
        lock.broadcast()
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The peer's report, with typed access to the fields the tests check.
struct PeerResult: CustomStringConvertible {
    let raw: [String: Any]
    init(_ raw: [String: Any]) { self.raw = raw }

    subscript(_ path: String) -> Any? {
        var value: Any? = raw
        for key in path.split(separator: ".") {
            value = (value as? [String: Any])?[String(key)]
        }
        return value
    }

    func number(_ path: String) -> Double? { (self[path] as? NSNumber)?.doubleValue }

    /// The telephone events one side received, as (digit, duration, end packets).
    func dtmf(_ side: String) -> [(digit: String, duration: Int, endPackets: Int)] {
        ((self["\(side).dtmf"] as? [[String: Any]]) ?? []).map {
            (($0["digit"] as? String) ?? "?", ($0["duration"] as? NSNumber)?.intValue ?? -1,
             ($0["end_packets"] as? NSNumber)?.intValue ?? 0)
        }
    }

    var description: String {
        (try? JSONSerialization.data(withJSONObject: raw, options: [.sortedKeys, .prettyPrinted]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "\(raw)"
    }
}
