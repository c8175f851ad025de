import Codecs
import Foundation
@testable import Media
import RTP
import Testing

/// Phones that play DTMF as tones: with detection on, spandsp finds the
/// digits in the phone's G.711 audio and the browser gets RFC 4733 events.
@Suite("In-band DTMF detection")
struct InbandDTMFTests {
    /// µ-law packets of 20 ms: silence, the digits as dual tones with gaps, silence.
    func phoneStream(_ digits: [(Character, milliseconds: Int)]) -> [[UInt8]] {
        let pairs: [Character: (Double, Double)] = ["7": (852, 1209), "#": (941, 1477), "1": (697, 1209)]
        var pcm = [Int16](repeating: 0, count: 1600)
        for (digit, milliseconds) in digits {
            let (low, high) = pairs[digit]!
            let count = milliseconds * 8
            let start = pcm.count
            pcm += (0..<count).map { i -> Int16 in
                let t = Double(start + i) / 8000
                let lowPart: Double = sin(2 * Double.pi * low * t)
                let highPart: Double = sin(2 * Double.pi * high * t)
                return Int16(6000 * lowPart + 6000 * highPart)
            }
            pcm += [Int16](repeating: 0, count: 800)
        }
        pcm += [Int16](repeating: 0, count: 1600 - pcm.count % 160)
        var packets: [[UInt8]] = []
        for (index, offset) in stride(from: 0, to: pcm.count, by: 160).enumerated() {
            var payload = [UInt8](repeating: 0, count: 160)
            pcm[offset..<(offset + 160)].withUnsafeBufferPointer { samples in
                payload.withUnsafeMutableBufferPointer { G711.encode(.mu, samples, into: $0) }
            }
            let header = RTPHeader(payloadType: 0, sequenceNumber: UInt16(index), timestamp: UInt32(index * 160),
                                   ssrc: 0xCAFE)
            packets.append(rtpPacket(header, payload))
        }
        return packets
    }

    func bridge(browser: BrowserCodec, detect: Bool) throws -> MediaBridge {
        var configuration = BridgeConfiguration(
            browserCodec: browser, browserPayloadType: browser == .opus ? 111 : 0,
            browserTelephoneEvent: (110, browser == .opus ? 48000 : 8000), phoneCodec: .pcmu, phoneTelephoneEvent: 101)
        configuration.detectInbandDTMF = detect
        return try MediaBridge(configuration, browserSSRC: 1, phoneSSRC: 2)
    }

    func play(_ packets: [[UInt8]], into bridge: MediaBridge) -> BridgeDriver {
        var driver = BridgeDriver(bridge)
        for (index, packet) in packets.enumerated() {
            driver.send(packet, from: .phone, now: Double(index) * 0.02)
        }
        return driver
    }

    @Test("Tones from the phone become reported digits and RFC 4733 events for an Opus browser",
          arguments: [BrowserCodec.opus, .phone(.pcmu)])
    func detected(browser: BrowserCodec) throws {
        let driver = play(phoneStream([("7", 120), ("#", 100)]), into: try bridge(browser: browser, detect: true))
        #expect(driver.reports.map(\.digit) == ["7", "#"])
        #expect(driver.reports.allSatisfy { $0.origin == .phone })
        for (report, expected) in zip(driver.reports, [120, 100]) {
            #expect(abs(report.milliseconds - expected) <= 40, "\(report)")
        }
        let clock = browser == .opus ? 48 : 8
        let events = try driver.emitted.filter { $0.header.payloadType == 110 }.map {
            (header: $0.header, event: try $0.payload.withUnsafeBytes { try TelephoneEvent.parse($0) })
        }
        let ends = events.filter(\.event.end)
        #expect(ends.map { $0.event.digit } == ["7", "7", "7", "#", "#", "#"])
        #expect(events.filter { $0.header.marker }.map { $0.event.digit } == ["7", "#"])
        for end in ends {
            let expected = end.event.digit == "7" ? 120 : 100
            #expect(abs(Int(end.event.duration) - expected * clock) <= 40 * clock, "\(end.event)")
        }
        // Each event keeps one timestamp, and the two differ.
        let timestamps = Set(events.map(\.header.timestamp))
        #expect(timestamps.count == 2)
        // The audio itself still flows.
        #expect(driver.emitted.contains { $0.header.payloadType == (browser == .opus ? 111 : 0) })
    }

    @Test("Without the option, tones are only audio")
    func off() throws {
        let driver = play(phoneStream([("1", 120)]), into: try bridge(browser: .opus, detect: false))
        #expect(driver.reports.isEmpty)
        #expect(!driver.emitted.contains { $0.header.payloadType == 110 })
    }

    @Test("Speech-like audio without dual tones reports nothing")
    func noFalseDigits() throws {
        var source = G711ToneSource(frequency: 440)
        let packets = (0..<100).map { _ in source.next() }
        let driver = play(packets, into: try bridge(browser: .opus, detect: true))
        #expect(driver.reports.isEmpty)
    }
}
