import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// baresip 1.0 (Debian's `baresip`) as a real phone: registers to a
/// registrar with a password, answers every call at once
/// (`answermode=auto`), sends a tone file as its microphone, records what
/// it hears to WAV files, and is driven through its `ctrl_tcp` module
/// (netstring-framed JSON on a loopback TCP port): dial, hold, resume,
/// hang up, and its call events.
///
/// Headless and loopback-only, from a config directory written here:
/// no stdin UI (no `stdio`/`cons` module), no sound card (`aufile` source,
/// `aubridge` player that goes nowhere), no STUN/TURN/ICE modules, SIP
/// bound to 127.0.0.1, DNS pointed at 127.0.0.1:53 (nothing is looked up
/// when every URI has an IP literal). Two things baresip 1.0 does anyway:
/// its RTP and RTCP sockets bind 0.0.0.0 (it still only sends to the
/// addresses in the SDP), and it keeps an idle DNS client socket.
///
/// What it does on the wire (checked by hand through Kamailio with sipp):
/// - Offers `RTP/AVP 0 8 9 101` (PCMU, PCMA, G722, telephone-event), or
///   `codecs` in that order; `a=ptime:20`, no rtcp-mux (RTCP on `rtpPort + 1`).
///   As answerer it keeps the offer's order and sends the offer's first
///   common codec.
/// - Hold (`hold()`): a re-INVITE with `a=sendonly` and only the codec in
///   use, the `o=` version one higher; resume: the same with `a=sendrecv`,
///   one higher again. While holding it sends no RTP itself.
/// - Hang-up: BYE along the route set (through a record-routing proxy).
///
/// Gotchas:
/// - The call ends when the tone file ends (baresip hangs up on the
///   source's end of file): the generated tone lasts `toneSeconds` (60 s).
/// - After baresip itself holds, its received-audio recording stops for the
///   rest of that call (1.0 restarts its player and drops the recording
///   filter from the receive pipeline): check audio toward the phone after
///   a resume from an RTP capture (`rtpPort`), not from `receivedRecordings`.
/// - ctrl_tcp sends events only to its latest connection: this class keeps
///   the one connection; don't open another.
/// - A registrar restarted under a running baresip loses its binding while
///   baresip thinks it is registered (until `regint`): restart both.
/// - SIP also takes TCP `sipPort` and TLS `sipPort + 1` on 127.0.0.1.
/// - Digest: MD5 only (libre 1.1 answers a SHA-256 challenge with
///   "Function not implemented").
final class BaresipProcess: ChildProcess, @unchecked Sendable {
    /// SIP (UDP and TCP) on 127.0.0.1.
    let sipPort: Int
    /// RTP; RTCP is the next port. Fixed (`rtp_ports P-P+1`) so a test can
    /// capture the phone's media: one call at a time.
    let rtpPort: Int
    /// ctrl_tcp on 127.0.0.1.
    let controlPort: Int
    /// `sip:user@registrar`, the account's AOR.
    let aor: String
    let user: String
    /// config, accounts, contacts, the tone, and `recordings/`.
    let configDirectory: URL
    /// Where the sndfile module writes each call's audio.
    var recordDirectory: URL { configDirectory.appendingPathComponent("recordings") }
    private(set) var control: BaresipControl!

    /// Writes the configuration, starts baresip and returns once its control
    /// port answers and (unless `waitForRegistration` is false) the
    /// registrar accepted its REGISTER.
    ///
    /// - Parameters:
    ///   - registrar: "127.0.0.1:PORT"; the AOR is `sip:user@registrar`,
    ///     REGISTER goes there, and a bare number dialled goes there too.
    ///   - password: digest password (the auth user is `user`); no `;`,
    ///     spaces or `>` (it is an account-line parameter).
    ///   - codecs: baresip's names in offer order, e.g.
    ///     `["G722/16000/1", "PCMU/8000/1"]` (plain "G722" matches nothing);
    ///     nil: PCMU, PCMA, G722.
    ///   - toneFile: a mono 16-bit WAV at `toneSampleRate`, or nil for a
    ///     `toneFrequency` sine of `toneSeconds` written here.
    ///   - sipTrace: `-s`, every SIP message on stdout (in `diagnostics`).
    static func start(user: String, password: String, registrar: String, codecs: [String]? = nil,
                      toneFile: String? = nil, toneFrequency: Double = 1000, toneSampleRate: Int = 16000,
                      toneSeconds: Int = 60, registerInterval: Int = 600, sipTrace: Bool = true,
                      waitForRegistration: Bool = true, timeout: TimeInterval = 10,
                      calls: Int = 1, mediaEncryption: String? = nil) throws -> BaresipProcess {
        let configDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-baresip-config-\(UUID().uuidString.prefix(8))")
        let recordings = configDirectory.appendingPathComponent("recordings")
        try FileManager.default.createDirectory(at: recordings, withIntermediateDirectories: true)
        let tone: String
        if let toneFile {
            tone = toneFile
        } else {
            tone = configDirectory.appendingPathComponent("tone.wav").path
            try WAVAudio.tone(frequency: toneFrequency, sampleRate: toneSampleRate, seconds: toneSeconds)
                .write(to: URL(fileURLWithPath: tone))
        }
        let sipPort = try freeSIPPort()
        // One RTP/RTCP pair per call it may have at once (a transfer makes a second).
        let rtpPort = try freeRTPPortPair(count: calls)
        let controlPort = freePort(udp: false)
        // Opus only for a phone that names it: loaded, it would lead every default offer.
        let wantsOpus = codecs?.contains { $0.lowercased().hasPrefix("opus") } ?? false
        let config = configTemplate
            .replacingOccurrences(of: "module\t\t\tg722.so\n",
                                  with: "module\t\t\tg722.so\n" + (wantsOpus ? "module\t\t\topus.so\n" : ""))
            .replacingOccurrences(of: "@SIPPORT@", with: String(sipPort))
            .replacingOccurrences(of: "@RTPPORT@", with: String(rtpPort))
            .replacingOccurrences(of: "@RTCPPORT@", with: String(rtpPort + 2 * calls - 1))
            .replacingOccurrences(of: "@CONTROLPORT@", with: String(controlPort))
            .replacingOccurrences(of: "@TONE@", with: tone)
            .replacingOccurrences(of: "@TONERATE@", with: String(toneSampleRate))
            .replacingOccurrences(of: "@RECORDINGS@", with: recordings.path)
        var account = "<sip:\(user)@\(registrar)>;auth_pass=\(password);answermode=auto;regint=\(registerInterval)"
        if let codecs { account += ";audio_codecs=" + codecs.joined(separator: ",") }
        // SDES SRTP (RFC 4568) from the srtp module: "srtp" (RTP/AVP with keys,
        // plain taken), "srtp-mand" (RTP/SAVP only), "srtp-mandf" (RTP/SAVPF).
        if let mediaEncryption { account += ";mediaenc=\(mediaEncryption)" }
        try config.write(to: configDirectory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        try (account + "\n").write(to: configDirectory.appendingPathComponent("accounts"), atomically: true,
                                   encoding: .utf8)
        try "".write(to: configDirectory.appendingPathComponent("contacts"), atomically: true, encoding: .utf8)

        let baresip = try BaresipProcess(user: user, aor: "sip:\(user)@\(registrar)", sipPort: sipPort,
                                         rtpPort: rtpPort, controlPort: controlPort,
                                         configDirectory: configDirectory, sipTrace: sipTrace)
        try baresip.connectControl(timeout: timeout)
        if waitForRegistration { try baresip.waitForRegistration(timeout: timeout) }
        return baresip
    }

    private init(user: String, aor: String, sipPort: Int, rtpPort: Int, controlPort: Int, configDirectory: URL,
                 sipTrace: Bool) throws {
        self.user = user
        self.aor = aor
        self.sipPort = sipPort
        self.rtpPort = rtpPort
        self.controlPort = controlPort
        self.configDirectory = configDirectory
        try super.init(name: "baresip", executable: try executablePath("baresip"),
                       arguments: ["-f", configDirectory.path] + (sipTrace ? ["-s"] : []))
    }

    deinit {
        terminate()
        control = nil
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: configDirectory)
        }
    }

    /// Kills baresip at once (no un-REGISTER: the registrar keeps one
    /// binding per AOR, which the next phone's REGISTER replaces).
    func stop() { terminate() }

    // MARK: Calls

    /// Dials `target`: a URI (`sip:+15550100@127.0.0.1:5060`) or a bare
    /// number, which baresip sends to `sip:NUMBER@registrar`. Returns once
    /// the call is established (CALL_ESTABLISHED), or throws if it closes
    /// first (CALL_CLOSED, whose `param` is the reason, e.g. "404 Not Found").
    @discardableResult
    func dial(_ target: String, timeout: TimeInterval = 10) throws -> BaresipEvent {
        let mark = control.eventCount
        try control.command("dial", target)
        return try waitForCall(established: true, since: mark, timeout: timeout)
    }

    /// Puts the current call on hold: a re-INVITE with `a=sendonly`.
    /// Returns once the answer arrived (CALL_REMOTE_SDP).
    func hold(timeout: TimeInterval = 5) throws {
        let mark = control.eventCount
        try control.command("hold")
        _ = try control.waitForEvent("CALL_REMOTE_SDP", since: mark, timeout: timeout)
    }

    /// Resumes the held call: a re-INVITE with `a=sendrecv`; returns once
    /// the answer arrived.
    func resume(timeout: TimeInterval = 5) throws {
        let mark = control.eventCount
        try control.command("resume")
        _ = try control.waitForEvent("CALL_REMOTE_SDP", since: mark, timeout: timeout)
    }

    /// Hangs up the current call (BYE, or CANCEL while ringing); returns
    /// once baresip reports it closed.
    func hangup(timeout: TimeInterval = 5) throws {
        let mark = control.eventCount
        try control.command("hangup")
        _ = try control.waitForEvent("CALL_CLOSED", since: mark, timeout: timeout)
    }

    /// Until a call is established (incoming calls are answered at once),
    /// counting events from `since` (`control.eventCount` before the action).
    @discardableResult
    func waitForCallEstablished(since mark: Int = 0, timeout: TimeInterval = 10) throws -> BaresipEvent {
        try waitForCall(established: true, since: mark, timeout: timeout)
    }

    /// Until a call closes (the far end hung up, or we did); the event's
    /// `param` says why.
    @discardableResult
    func waitForCallClosed(since mark: Int = 0, timeout: TimeInterval = 10) throws -> BaresipEvent {
        try control.waitForEvent("CALL_CLOSED", since: mark, timeout: timeout)
    }

    /// "--- Active calls (N) ---" and one line per call with its state.
    func listCalls() throws -> String { try control.command("listcalls") }

    private func waitForCall(established: Bool, since mark: Int, timeout: TimeInterval) throws -> BaresipEvent {
        let event = try control.waitForEvent(["CALL_ESTABLISHED", "CALL_CLOSED"], since: mark, timeout: timeout)
        if event.type == "CALL_CLOSED" {
            throw ChildProcessError.failed("baresip call (closed: \(event.param ?? "?"))", diagnostics)
        }
        return event
    }

    // MARK: Registration

    /// Until `reginfo` shows the account registered (green "OK"); throws at
    /// once if it shows "ERR" (the registrar refused: wrong password,
    /// unsupported algorithm...).
    func waitForRegistration(timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let info = try control.command("reginfo")
            if info.contains("\u{1B}[32mOK") { return }
            if info.contains("ERR") { throw ChildProcessError.failed("baresip REGISTER as \(aor)", diagnostics) }
            guard Date() < deadline else { throw ChildProcessError.timedOut("baresip REGISTER as \(aor)", diagnostics) }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    // MARK: Recordings

    /// What baresip heard, one WAV per call: `dump-YYYY-MM-DD-HH-MM-SS-dec.wav`
    /// (local time of the call's audio start; two calls started in the same
    /// second share the file), mono 16-bit PCM at the decoder's rate (8000
    /// for G.711, 16000 for G722). Oldest first. Complete once the call ended.
    var receivedRecordings: [URL] { recordings(suffix: "-dec.wav") }
    /// What baresip sent (the tone after resampling), `...-enc.wav`.
    var sentRecordings: [URL] { recordings(suffix: "-enc.wav") }

    private func recordings(suffix: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: recordDirectory.path)) ?? []
        return names.filter { $0.hasPrefix("dump-") && $0.hasSuffix(suffix) }.sorted()
            .map { recordDirectory.appendingPathComponent($0) }
    }

    // MARK: Diagnostics

    override var diagnostics: String {
        var text = "$ \(commandLine)\n" + statusLine + "config: \(configDirectory.path)\n"
        if let control { text += section("events", control.eventLog, 2500) }
        let stdout = read("stdout").replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        text += section("stdout (SIP trace and status)", stdout, 6000)
        text += section("stderr", read("stderr"), 1500)
        return text
    }

    private func connectControl(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !isTCPListening(controlPort) {
            guard process.isRunning else { throw ChildProcessError.failed("baresip", diagnostics) }
            guard Date() < deadline else {
                terminate()
                throw ChildProcessError.timedOut("baresip start-up", diagnostics)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        control = try BaresipControl(port: controlPort)
    }

    /// A SIP port free for UDP and TCP whose next port is free for TCP
    /// (baresip's TLS listener).
    private static func freeSIPPort() throws -> Int {
        for _ in 0..<50 {
            let port = try freeUDPAndTCPPort()
            if port < 65535, !isPortBound(port + 1, udp: false) { return port }
        }
        throw FreePortError.noneFree
    }

    /// An even port with its successor free for UDP, below the kernel's
    /// ephemeral range and Tieline's media ports (40000 up in the tests).
    private static func freeRTPPortPair(count: Int = 1) throws -> Int {
        for _ in 0..<200 {
            let port = 2 * Int.random(in: 10_000..<16_000)
            if (port..<port + 2 * count).allSatisfy({ !isPortBound($0, udp: true) }) { return port }
        }
        throw FreePortError.noneFree
    }

    /// baresip's config: one line per setting, `name<whitespace>value`.
    /// Verified by hand with baresip 1.0.0 on Debian 12.
    static let configTemplate = #"""
# Tieline integration tests: baresip as a headless phone on loopback.
poll_method		epoll
sip_listen		127.0.0.1:@SIPPORT@
net_interface		127.0.0.1
# Never a resolver outside: every URI here has an IP literal anyway.
dns_server		127.0.0.1:53
call_local_timeout	120
call_max_calls		4

# Microphone: the tone file, resampled to the codec's rate. The call ends
# when the file does. Speaker and ringer: an aubridge device nobody reads.
audio_source		aufile,@TONE@
ausrc_srate		@TONERATE@
ausrc_channels		1
audio_player		aubridge,nil
audio_alert		aubridge,alert
audio_level		no
rtp_ports		@RTPPORT@-@RTCPPORT@
rtcp_mux		no
jitter_buffer_delay	5-10
rtp_stats		no

module_path		/usr/lib/baresip/modules
module			g711.so
module			g722.so
module			aufile.so
module			aubridge.so
# Audio filter: each call's sent and received audio to WAV in snd_path.
module			sndfile.so
module			srtp.so
module_tmp		account.so
# menu: the dial/hold/resume/hangup commands; ctrl_tcp: them over TCP.
module_app		menu.so
module_app		ctrl_tcp.so

ctrl_tcp_listen		127.0.0.1:@CONTROLPORT@
snd_path		@RECORDINGS@
ringback_disabled	yes
statmode_default	off
"""#
}

/// One baresip `ctrl_tcp` connection: commands as netstrings
/// `LEN:{"command":"dial","params":"...","token":"N"},`, answered by
/// `{"response":true,"ok":true,"data":"...","token":"N"}`, with events
/// `{"event":true,"type":"CALL_ESTABLISHED",...}` interleaved; every event
/// read is kept, in order, so a test can wait for one that already came.
final class BaresipControl: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var events: [BaresipEvent] = []
    private var nextToken = 1

    init(port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ChildProcessError.failed("ctrl_tcp socket", String(cString: strerror(errno))) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ChildProcessError.failed("ctrl_tcp connect to 127.0.0.1:\(port)", reason)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// How many events have been read so far: take it before an action,
    /// then wait for an event `since` it.
    var eventCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return events.count
    }

    /// Every event so far, one JSON object per line.
    var eventLog: String {
        lock.lock()
        defer { lock.unlock() }
        return events.map(\.json).joined(separator: "\n")
    }

    /// Runs a command (`dial`, `hold`, `resume`, `hangup`, `listcalls`,
    /// `reginfo`, `help`...) and returns its output; throws when baresip
    /// answers `ok: false` (e.g. "command not found (hold)" when no call is
    /// up: the call commands exist only during a call).
    @discardableResult
    func command(_ name: String, _ params: String = "", timeout: TimeInterval = 5) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let token = String(nextToken)
        nextToken += 1
        let request = try JSONSerialization.data(withJSONObject: ["command": name, "params": params, "token": token])
        try writeFrame(Array(request))
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let object = try readObject(until: deadline) else {
                throw ChildProcessError.timedOut("baresip command \(name) \(params)", "no response")
            }
            guard object["response"] as? Bool == true, object["token"] as? String == token else { continue }
            let data = object["data"] as? String ?? ""
            guard object["ok"] as? Bool == true else {
                throw ChildProcessError.failed("baresip command \(name) \(params)", data)
            }
            return data
        }
    }

    /// The first event of `type` at index `since` or later, reading more
    /// until `timeout`.
    @discardableResult
    func waitForEvent(_ type: String, since mark: Int = 0, timeout: TimeInterval = 10) throws -> BaresipEvent {
        try waitForEvent([type], since: mark, timeout: timeout)
    }

    /// The first event whose type is one of `types`, at `since` or later.
    func waitForEvent(_ types: Set<String>, since mark: Int = 0, timeout: TimeInterval = 10) throws -> BaresipEvent {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        var checked = mark
        while true {
            while checked < events.count {
                if types.contains(events[checked].type) { return events[checked] }
                checked += 1
            }
            guard Date() < deadline else {
                throw ChildProcessError.timedOut("baresip event \(types.sorted().joined(separator: "/"))",
                                                 events.map(\.json).joined(separator: "\n"))
            }
            _ = try readObject(until: deadline)
        }
    }

    /// Sends `LEN:payload,`.
    private func writeFrame(_ payload: [UInt8]) throws {
        let frame = Array("\(payload.count):".utf8) + payload + Array(",".utf8)
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var offset = 0
        while offset < frame.count {
            let sent = frame[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            guard sent > 0 else { throw ChildProcessError.failed("ctrl_tcp send", String(cString: strerror(errno))) }
            offset += sent
        }
    }

    /// The next JSON object, or nil at the deadline; an event is also
    /// appended to `events`. Called with `lock` held.
    private func readObject(until deadline: Date) throws -> [String: Any]? {
        while true {
            if let payload = try takeFrame() {
                guard let object = try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
                    continue
                }
                if object["event"] as? Bool == true {
                    events.append(BaresipEvent(object, json: String(decoding: payload, as: UTF8.self)))
                }
                return object
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(remaining, 1) * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { throw ChildProcessError.failed("ctrl_tcp", "baresip closed the control connection") }
            buffer += chunk[0..<count]
        }
    }

    /// One complete netstring from `buffer`, or nil if it is not all here.
    private func takeFrame() throws -> [UInt8]? {
        guard let colon = buffer.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        guard let length = Int(String(decoding: buffer[..<colon], as: UTF8.self)) else {
            throw ChildProcessError.failed("ctrl_tcp", "bad netstring: \(String(decoding: buffer.prefix(40), as: UTF8.self))")
        }
        let start = colon + 1
        guard buffer.count >= start + length + 1 else { return nil }
        let payload = Array(buffer[start..<(start + length)])
        buffer.removeFirst(start + length + 1)  // and the trailing ","
        return payload
    }
}

/// One ctrl_tcp event. Types seen: REGISTER_OK, CALL_INCOMING,
/// CALL_LOCAL_SDP / CALL_REMOTE_SDP (`param` "offer" or "answer"),
/// CALL_ESTABLISHED, CALL_RTPESTAB, CALL_CLOSED (`param`: the reason, e.g.
/// "Connection reset by user" after our own hang-up).
struct BaresipEvent: Sendable, CustomStringConvertible {
    let type: String
    /// The SIP Call-ID.
    let callID: String?
    let peerURI: String?
    /// "incoming" or "outgoing".
    let direction: String?
    let param: String?
    let json: String

    init(_ object: [String: Any], json: String) {
        type = object["type"] as? String ?? ""
        callID = object["id"] as? String
        peerURI = object["peeruri"] as? String
        direction = object["direction"] as? String
        param = object["param"] as? String
        self.json = json
    }

    var description: String { json }
}

/// Mono 16-bit PCM WAV: the phone's tone, and reading its recordings.
struct WAVAudio: Sendable {
    let sampleRate: Int
    let samples: [Int16]

    var seconds: Double { Double(samples.count) / Double(sampleRate) }

    /// A sine at half of full scale.
    static func tone(frequency: Double, sampleRate: Int, seconds: Int, amplitude: Double = 16_384) -> WAVAudio {
        let count = sampleRate * seconds
        let step = 2 * Double.pi * frequency / Double(sampleRate)
        return WAVAudio(sampleRate: sampleRate,
                        samples: (0..<count).map { Int16((amplitude * sin(step * Double($0))).rounded()) })
    }

    /// Reads a PCM WAV (the first channel of 16-bit PCM, as sndfile writes).
    static func read(_ url: URL) throws -> WAVAudio {
        let bytes = [UInt8](try Data(contentsOf: url))
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw ChildProcessError.failed("WAV \(url.path)", "not a RIFF/WAVE file")
        }
        var offset = 12
        var rate = 0
        var channels = 1
        while offset + 8 <= bytes.count {
            let size = u32(offset + 4)
            let body = offset + 8
            if bytes[offset..<(offset + 4)].elementsEqual("fmt ".utf8), body + 16 <= bytes.count {
                guard u16(body) == 1, u16(body + 14) == 16 else {
                    throw ChildProcessError.failed("WAV \(url.path)", "not 16-bit PCM")
                }
                channels = max(1, u16(body + 2))
                rate = u32(body + 4)
            } else if bytes[offset..<(offset + 4)].elementsEqual("data".utf8) {
                let end = min(bytes.count, body + size)
                var samples: [Int16] = []
                samples.reserveCapacity((end - body) / (2 * channels))
                var at = body
                while at + 2 * channels <= end {
                    samples.append(Int16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8))
                    at += 2 * channels
                }
                return WAVAudio(sampleRate: rate, samples: samples)
            }
            offset = body + size + (size & 1)
        }
        throw ChildProcessError.failed("WAV \(url.path)", "no data chunk")
    }

    /// The canonical 44-byte header and the samples, little-endian.
    func write(to url: URL) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44 + 2 * samples.count)
        func append32(_ value: Int) { bytes += (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        func append16(_ value: Int) { bytes += (0..<2).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        bytes += Array("RIFF".utf8)
        append32(36 + 2 * samples.count)
        bytes += Array("WAVEfmt ".utf8)
        append32(16)
        append16(1)               // PCM
        append16(1)               // mono
        append32(sampleRate)
        append32(2 * sampleRate)  // bytes per second
        append16(2)               // block align
        append16(16)              // bits per sample
        bytes += Array("data".utf8)
        append32(2 * samples.count)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            bytes.append(UInt8(bits & 0xFF))
            bytes.append(UInt8(bits >> 8))
        }
        try Data(bytes).write(to: url)
    }

    /// The strongest frequency between `range` in `step` Hz steps (Goertzel),
    /// over `duration` seconds from `start`: enough to tell 1000 Hz from 440 Hz.
    func peakFrequency(start: Double = 0.3, duration: Double = 1, range: ClosedRange<Int> = 100...3900,
                       step: Int = 10) -> Int {
        let first = min(samples.count, Int(start * Double(sampleRate)))
        let last = min(samples.count, first + Int(duration * Double(sampleRate)))
        let window = samples[first..<last]
        let top = min(range.upperBound, sampleRate / 2 - step)
        guard !window.isEmpty, top >= range.lowerBound else { return 0 }
        let powers = stride(from: range.lowerBound, through: top, by: step).map { ($0, power(window, $0)) }
        return powers.max { $0.1 < $1.1 }?.0 ?? 0
    }

    /// Root mean square over the same window, 0...32767.
    func rms(start: Double = 0.3, duration: Double = 1) -> Double {
        let first = min(samples.count, Int(start * Double(sampleRate)))
        let last = min(samples.count, first + Int(duration * Double(sampleRate)))
        guard last > first else { return 0 }
        let sum = samples[first..<last].reduce(0.0) { $0 + Double($1) * Double($1) }
        return (sum / Double(last - first)).squareRoot()
    }

    private func power(_ window: ArraySlice<Int16>, _ frequency: Int) -> Double {
        let coefficient = 2 * cos(2 * Double.pi * Double(frequency) / Double(sampleRate))
        var previous = 0.0
        var beforePrevious = 0.0
        for sample in window {
            let current = Double(sample) + coefficient * previous - beforePrevious
            beforePrevious = previous
            previous = current
        }
        return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
    }
}
