@testable import Media
import RTP
import Testing

/// RFC 4733 telephone-events cross the bridge between a 48 kHz browser
/// event clock and the phone's 8 kHz one.
@Suite("DTMF relay")
struct DTMFRelayTests {
    func eventPacket(payloadType: UInt8, event: UInt8, end: Bool, duration: UInt16, sequenceNumber: UInt16,
                     timestamp: UInt32, marker: Bool = false, ssrc: UInt32) -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: 4)
        _ = payload.withUnsafeMutableBytes {
            TelephoneEvent(event: event, end: end, volume: 10, duration: duration).write(to: $0)
        }
        let header = RTPHeader(marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber,
                               timestamp: timestamp, ssrc: ssrc)
        return rtpPacket(header, payload)
    }

    func event(of packet: Emitted) throws -> TelephoneEvent {
        try packet.payload.withUnsafeBytes { try TelephoneEvent.parse($0) }
    }

    @Test("Browser digit at 48 kHz reaches the phone at 8 kHz; audio is held during the event")
    func browserToPhone() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        let audio = try OpusToneSource(frequency: 1000)
        var now = 0.0
        for _ in 0..<10 { driver.send(audio.next(), from: .browser, now: now); now += 0.02 }
        let before = driver.emitted
        let nextAudioTimestamp = before.last!.header.timestamp &+ 160
        #expect(driver.bridge.toPhone.stream.timestamp == nextAudioTimestamp)

        // The event starts where the browser's audio clock is; audio keeps flowing from the browser.
        let eventStart = audio.timestamp
        var sequence: UInt16 = 5000
        var updates: [(end: Bool, duration: UInt16)] = (1...5).map { (false, UInt16($0 * 960)) }
        updates += Array(repeating: (true, 4800), count: 3)
        for (index, update) in updates.enumerated() {
            driver.send(eventPacket(payloadType: 110, event: 5, end: update.end, duration: update.duration,
                                    sequenceNumber: sequence, timestamp: eventStart, marker: index == 0, ssrc: audio.ssrc),
                        from: .browser, now: now)
            sequence &+= 1
            if index < 5 {
                #expect(driver.bridge.toPhone.eventInProgress)
                #expect(driver.send(audio.next(), from: .browser, now: now).isEmpty, "audio during the event is held")
            }
            now += 0.02
        }
        #expect(!driver.bridge.toPhone.eventInProgress)
        let after = driver.emitted.count
        for _ in 0..<5 { driver.send(audio.next(), from: .browser, now: now); now += 0.02 }

        let all = driver.emitted
        let events = Array(all[10..<after])
        #expect(events.count == 8)
        #expect(events.allSatisfy { $0.header.payloadType == 101 && $0.header.ssrc == phoneSSRC })
        #expect(events.allSatisfy { $0.header.timestamp == nextAudioTimestamp })
        #expect(events.map(\.header.marker) == [true] + Array(repeating: false, count: 7))
        let decoded = try events.map { try event(of: $0) }
        #expect(decoded.map(\.duration) == [160, 320, 480, 640, 800, 800, 800, 800])
        #expect(decoded.map(\.end) == Array(repeating: false, count: 5) + Array(repeating: true, count: 3))
        #expect(decoded.allSatisfy { $0.event == 5 && $0.volume == 10 })

        // Audio resumes on the same clock, which kept running through the event.
        let resumed = Array(all[after...])
        #expect(resumed.count == 5)
        #expect(resumed.allSatisfy { $0.header.payloadType == 0 })
        #expect(resumed.first?.header.timestamp == nextAudioTimestamp &+ 5 * 160)
        #expect(sequenceSteps(all).allSatisfy { $0 == 1 })

        #expect(driver.reports == [DTMFReport(origin: .browser, digit: "5", milliseconds: 100)])
    }

    @Test("Phone digit at 8 kHz reaches the browser at 48 kHz")
    func phoneToBrowser() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        var audio = G711ToneSource(frequency: 440)
        var now = 0.0
        for _ in 0..<5 { driver.send(audio.next(), from: .phone, now: now); now += 0.02 }
        let expectedTimestamp = driver.bridge.toBrowser.stream.timestamp
        let start = audio.timestamp
        var updates: [(end: Bool, duration: UInt16)] = (1...4).map { (false, UInt16($0 * 160)) }
        updates += Array(repeating: (true, 1040), count: 3)
        for (index, update) in updates.enumerated() {
            driver.send(eventPacket(payloadType: 101, event: 11, end: update.end, duration: update.duration,
                                    sequenceNumber: UInt16(100 + index), timestamp: start, ssrc: audio.ssrc),
                        from: .phone, now: now)
            now += 0.02
        }
        let events = Array(driver.emitted.dropFirst(5))
        #expect(events.count == 7)
        #expect(events.allSatisfy { $0.header.payloadType == 110 && $0.header.timestamp == expectedTimestamp })
        #expect(events.map(\.header.marker) == [true] + Array(repeating: false, count: 6))
        #expect(try events.map { try event(of: $0).duration } == [960, 1920, 2880, 3840, 6240, 6240, 6240])
        #expect(driver.reports == [DTMFReport(origin: .phone, digit: "#", milliseconds: 130)])
    }

    /// Two digits as a browser sends them without audio in between (Opus
    /// DTX, or a sender that pauses audio for the whole key sequence).
    func sendTwoDigits(_ driver: inout BridgeDriver) {
        for (n, code) in [UInt8(1), 10].enumerated() {
            let timestamp = UInt32(100_000 + n * 20_000)
            for update in 0..<4 {
                driver.send(eventPacket(payloadType: 110, event: code, end: update >= 1, duration: 2880,
                                        sequenceNumber: UInt16(n * 10 + update), timestamp: timestamp, ssrc: 1),
                            from: .browser, now: Double(n) + Double(update) * 0.02)
            }
        }
    }

    @Test("Two events report two digits; repeated end packets report once")
    func twoDigits() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        sendTwoDigits(&driver)
        #expect(driver.reports.map(\.digit) == ["1", "*"])
        #expect(driver.reports.allSatisfy { $0.milliseconds == 60 && $0.origin == .browser })
        let events = driver.emitted
        #expect(events.count == 8)
        #expect(events.filter(\.header.marker).count == 2)
        #expect(sequenceSteps(events).allSatisfy { $0 == 1 })
    }

    @Test("Back-to-back events without audio between them get distinct RTP timestamps (RFC 4733)")
    func backToBackEventsHaveDistinctTimestamps() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        sendTwoDigits(&driver)
        let events = driver.emitted
        // A receiver tells events apart by timestamp: with one timestamp the
        // phone takes "*" for a retransmission of "1" and drops it.
        let first = events.prefix(4).map(\.header.timestamp)
        let second = events.suffix(4).map(\.header.timestamp)
        #expect(Set(first).count == 1 && Set(second).count == 1)
        #expect(first.first != second.first)
    }

    @Test("An event whose end packets are all lost stops holding audio after 250 ms")
    func staleEventReleasesAudio() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        let audio = try OpusToneSource(frequency: 1000)
        driver.send(eventPacket(payloadType: 110, event: 3, end: false, duration: 960, sequenceNumber: 1,
                                timestamp: 4242, ssrc: audio.ssrc), from: .browser, now: 1.0)
        #expect(driver.send(audio.next(), from: .browser, now: 1.1).isEmpty)
        #expect(driver.send(audio.next(), from: .browser, now: 1.2).isEmpty)
        #expect(driver.send(audio.next(), from: .browser, now: 1.3).count == 1)
        #expect(driver.reports.isEmpty)
    }

    @Test("Without a sink telephone-event the digit is still reported but nothing is sent for it")
    func noSinkEvent() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: nil))
        for update in 0..<3 {
            driver.send(eventPacket(payloadType: 110, event: 9, end: update == 2, duration: UInt16(960 * (update + 1)),
                                    sequenceNumber: UInt16(update), timestamp: 1, ssrc: 1),
                        from: .browser, now: Double(update) * 0.02)
        }
        #expect(driver.emitted.isEmpty)
        #expect(driver.reports == [DTMFReport(origin: .browser, digit: "9", milliseconds: 60)])
    }

    @Test("A truncated telephone-event payload is ignored")
    func truncatedEvent() throws {
        var driver = BridgeDriver(try opusBridge(browserEvent: (110, 48000), phoneEvent: 101))
        let header = RTPHeader(payloadType: 110, sequenceNumber: 1, timestamp: 1, ssrc: 1)
        #expect(driver.send(rtpPacket(header, [5, 0x80, 0]), from: .browser, now: 0).isEmpty)
        #expect(driver.reports.isEmpty)
        #expect(!driver.bridge.toPhone.eventInProgress)
    }
}
