@testable import Media
import NIOCore
import Testing

@Suite("SampleFIFO")
struct SampleFIFOTests {
    func append(_ fifo: SampleFIFO, _ values: [Int16]) {
        values.withUnsafeBufferPointer { fifo.append($0) }
    }

    func consume(_ fifo: SampleFIFO, _ count: Int) -> [Int16]? {
        fifo.consume(count) { Array($0) }
    }

    @Test("Overflow drops the oldest samples, keeping the newest `capacity`")
    func overflow() {
        let fifo = SampleFIFO(capacity: 10)
        append(fifo, Array(0..<6))
        append(fifo, Array(6..<12))
        #expect(fifo.count == 10)
        #expect(consume(fifo, 10) == Array(2..<12))
        #expect(fifo.count == 0)

        // A single append larger than the whole FIFO keeps only its tail.
        append(fifo, Array(100..<125))
        #expect(consume(fifo, 10) == Array(115..<125))
    }

    @Test("Compaction keeps order when appending after partial consumption")
    func compaction() {
        let fifo = SampleFIFO(capacity: 10)
        append(fifo, Array(0..<8))
        #expect(consume(fifo, 5) == [0, 1, 2, 3, 4])
        append(fifo, Array(8..<14))  // needs compaction: 3 live at offset 5, room 6
        #expect(fifo.count == 9)
        #expect(consume(fifo, 9) == Array(5..<14))
        for round in 0..<50 {
            let base = Int16(round * 7)
            append(fifo, Array(base..<(base + 7)))
            #expect(consume(fifo, 7) == Array(base..<(base + 7)))
        }
    }

    @Test("Consuming more than is there returns nil and removes nothing; removeAll empties")
    func underflow() {
        let fifo = SampleFIFO(capacity: 16)
        append(fifo, [1, 2, 3])
        #expect(consume(fifo, 4) == nil)
        #expect(fifo.count == 3)
        fifo.removeAll()
        #expect(fifo.count == 0)
        #expect(consume(fifo, 1) == nil)
        append(fifo, [9])
        #expect(consume(fifo, 1) == [9])
    }
}

@Suite("InboundTimeline")
struct InboundTimelineTests {
    @Test("Classifies new source, in order, loss and late packets")
    func classification() {
        var timeline = InboundTimeline()
        #expect(timeline.place(ssrc: 1, timestamp: 1000) == .newSource)
        timeline.played(timestamp: 1000, duration: 160)
        #expect(timeline.place(ssrc: 1, timestamp: 1160) == .inOrder)
        timeline.played(timestamp: 1160, duration: 160)
        #expect(timeline.place(ssrc: 1, timestamp: 1640) == .afterLoss(units: 320))
        timeline.played(timestamp: 1640, duration: 160)
        #expect(timeline.place(ssrc: 1, timestamp: 1160) == .late)
        #expect(timeline.place(ssrc: 1, timestamp: 1799) == .late)
        #expect(timeline.place(ssrc: 2, timestamp: 1) == .newSource)
        // Back to the old SSRC is a new source again.
        #expect(timeline.place(ssrc: 1, timestamp: 1800) == .newSource)
    }

    @Test("Timestamps wrap around 2^32 without looking late or lost")
    func wraparound() {
        var timeline = InboundTimeline()
        #expect(timeline.place(ssrc: 7, timestamp: UInt32.max - 79) == .newSource)
        timeline.played(timestamp: UInt32.max - 79, duration: 160)
        #expect(timeline.place(ssrc: 7, timestamp: 80) == .inOrder)
        #expect(timeline.place(ssrc: 7, timestamp: 240) == .afterLoss(units: 160))
        #expect(timeline.place(ssrc: 7, timestamp: UInt32.max - 79) == .late)
    }
}

@Suite("RTPOutboundStream")
struct RTPOutboundStreamTests {
    @Test("Numbering and clock wrap; an explicit timestamp does not move the clock")
    func headers() {
        var generator = SystemRandomNumberGenerator()
        var stream = RTPOutboundStream(ssrc: 42, clockRate: 8000, using: &generator)
        let first = stream.nextHeader(payloadType: 0)
        #expect(first.marker && first.ssrc == 42)
        stream.advance(by: 160)
        let second = stream.nextHeader(payloadType: 0)
        #expect(!second.marker)
        #expect(second.sequenceNumber == first.sequenceNumber &+ 1)
        #expect(second.timestamp == first.timestamp &+ 160)
        let event = stream.nextHeader(payloadType: 101, timestamp: 7, marker: true)
        #expect(event.timestamp == 7 && event.marker)
        #expect(stream.timestamp == second.timestamp)
        #expect(!stream.nextHeader(payloadType: 0).marker)
    }

    @Test("Timestamp for a wall-clock time extrapolates from the last packet sent")
    func timestampAtTime() {
        var generator = SystemRandomNumberGenerator()
        var stream = RTPOutboundStream(ssrc: 1, clockRate: 8000, using: &generator)
        let idle = stream.timestamp
        #expect(stream.timestamp(at: 100) == idle)
        stream.recordSent(payloadBytes: 160, timestamp: 1000, now: 10)
        #expect(stream.timestamp(at: 10.5) == 5000)
        #expect(stream.packetCount == 1 && stream.octetCount == 160)
    }
}

@Suite("PhoneLeg symmetric RTP")
struct PhoneLegTests {
    let sdpAddress = try! SocketAddress(ipAddress: "192.0.2.10", port: 4000)
    let phone = try! SocketAddress(ipAddress: "198.51.100.7", port: 31_000)
    let stranger = try! SocketAddress(ipAddress: "203.0.113.66", port: 5060)

    @Test("Latches to the first source, drops strangers while it is active, relatches after silence")
    func latching() {
        var leg = PhoneLeg(symmetric: true)
        var accepted: Bool
        leg.setRemote(rtp: sdpAddress, rtcp: nil)
        #expect(leg.rtpTarget == sdpAddress)
        accepted = leg.acceptRTP(from: phone, now: 0)
        #expect(accepted)
        #expect(leg.rtpTarget == phone)
        // The SDP address no longer overrides a latched one.
        leg.setRemote(rtp: sdpAddress, rtcp: nil)
        #expect(leg.rtpTarget == phone)

        accepted = leg.acceptRTP(from: stranger, now: 0.5)
        #expect(!accepted)
        accepted = leg.acceptRTP(from: phone, now: 1.5)
        #expect(accepted)
        accepted = leg.acceptRTP(from: stranger, now: 3.0)  // 1.5 s after the phone's last packet
        #expect(!accepted)
        #expect(leg.droppedForeign == 2)
        #expect(leg.rtpTarget == phone)

        accepted = leg.acceptRTP(from: stranger, now: 3.6)  // 2.1 s of silence: the phone moved
        #expect(accepted)
        #expect(leg.rtpTarget == stranger)
        accepted = leg.acceptRTP(from: phone, now: 3.7)
        #expect(!accepted)
    }

    @Test("RTCP latches on its own")
    func rtcpLatch() throws {
        var leg = PhoneLeg(symmetric: true)
        var accepted: Bool
        let rtcp = try SocketAddress(ipAddress: "192.0.2.10", port: 4001)
        leg.setRemote(rtp: sdpAddress, rtcp: rtcp)
        #expect(leg.rtcpTarget == rtcp)
        accepted = leg.acceptRTP(from: phone, now: 0)
        #expect(accepted)
        let phoneRTCP = try SocketAddress(ipAddress: "198.51.100.7", port: 31_001)
        accepted = leg.acceptRTCP(from: phoneRTCP, now: 0.1)
        #expect(accepted)
        #expect(leg.rtcpTarget == phoneRTCP && leg.rtpTarget == phone)
        accepted = leg.acceptRTCP(from: stranger, now: 0.2)
        #expect(!accepted)
        #expect(leg.droppedForeign == 1)
    }

    @Test("Without symmetric RTP every source is accepted and the SDP address stays the target")
    func nonSymmetric() {
        var leg = PhoneLeg(symmetric: false)
        var accepted: Bool
        leg.setRemote(rtp: sdpAddress, rtcp: nil)
        accepted = leg.acceptRTP(from: phone, now: 0)
        #expect(accepted)
        accepted = leg.acceptRTP(from: stranger, now: 0.1)
        #expect(accepted)
        accepted = leg.acceptRTCP(from: stranger, now: 0.1)
        #expect(accepted)
        #expect(leg.rtpTarget == sdpAddress)
        #expect(leg.droppedForeign == 0)
    }
}

@Suite("PortAllocator")
struct PortAllocatorTests {
    @Test("Pairs are even and consecutive, never handed out twice, and the range runs out")
    func pairs() {
        let allocator = PortAllocator(range: 10_000...10_009)
        var ports: [Int] = []
        while let port = allocator.reserve(pair: true) { ports.append(port) }
        #expect(ports.sorted() == [10_000, 10_002, 10_004, 10_006, 10_008])
        #expect(allocator.reservedCount == 10)
        #expect(allocator.reserve(pair: false) == nil)
        allocator.release(10_004, pair: true)
        #expect(allocator.reservedCount == 8)
        #expect(allocator.reserve(pair: true) == 10_004)
    }

    @Test("An odd lower bound still yields even RTP ports inside the range")
    func oddRange() {
        let allocator = PortAllocator(range: 10_001...10_010)
        var ports: [Int] = []
        while let port = allocator.reserve(pair: true) { ports.append(port) }
        #expect(ports.sorted() == [10_002, 10_004, 10_006, 10_008])
        #expect(ports.allSatisfy { $0 % 2 == 0 && $0 + 1 <= 10_010 })
    }

    @Test("Single ports and pairs never overlap")
    func mixed() {
        let allocator = PortAllocator(range: 20_000...20_011)
        var taken = Set<Int>()
        for i in 0..<12 {
            let pair = i % 2 == 0
            guard let port = allocator.reserve(pair: pair) else { break }
            let ports = pair ? [port, port + 1] : [port]
            #expect(taken.isDisjoint(with: ports))
            taken.formUnion(ports)
        }
        #expect(taken.count == allocator.reservedCount)
        #expect(taken.allSatisfy { (20_000...20_011).contains($0) })
    }

    @Test("Round robin: a just-released port is not reused at once")
    func roundRobin() {
        let allocator = PortAllocator(range: 30_000...30_019)
        let first = allocator.reserve(pair: true)
        #expect(first == 30_000)
        allocator.release(30_000, pair: true)
        let second = allocator.reserve(pair: true)
        #expect(second != nil && second != 30_000)
        let single = allocator.reserve(pair: false)
        allocator.release(single!, pair: false)
        #expect(allocator.reserve(pair: false) != single)
    }
}
