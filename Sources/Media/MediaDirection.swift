import Codecs
import RTP

/// The fixed parameters of one direction of the bridge.
struct DirectionParameters {
    var source: BrowserCodec
    var sourcePayloadType: UInt8
    var sourceTelephoneEvent: (payloadType: UInt8, clockRate: Int)?
    var sink: BrowserCodec
    var sinkPayloadType: UInt8
    var sinkTelephoneEvent: (payloadType: UInt8, clockRate: Int)?
    /// Milliseconds of audio per packet sent to the sink.
    var sinkPacketTime: Int
    /// The rate both codecs work at (the phone codec's sample rate).
    var sampleRate: Int
    var opus: OpusEncoderConfiguration
    /// Look for DTMF tones in the source's audio (G.711 only: the detector wants 8 kHz).
    var detectInbandDTMF = false
}

/// One direction of a call's media, browser to phone or phone to browser:
/// decode (concealing loss), repacketize, encode, and restamp into the
/// gateway's own RTP stream; or, when both legs share a codec, only restamp.
/// All buffers are allocated here, once, so a packet costs no allocation.
final class MediaDirection {
    let parameters: DirectionParameters
    private(set) var stream: RTPOutboundStream
    private(set) var reception = RTPReceptionStatistics()
    private(set) var sourceSSRC: UInt32?
    private(set) var concealedSamples = 0
    private(set) var droppedLate = 0
    private(set) var undecodable = 0

    private let decoder: CodecState?
    private let encoder: CodecState?
    private let plc: PacketLossConcealer?
    private let fifo: SampleFIFO
    private let pcm: UnsafeMutableBufferPointer<Int16>
    private let packet: UnsafeMutableRawBufferPointer
    private var timeline = InboundTimeline()
    private var events: TelephoneEventRelay
    private let detector: DTMFDetector?
    /// Encodes the gateway's own audio toward the sink (hold music), made
    /// when first needed: passthrough has no encoder, and the bridge's own
    /// must keep its state for the talk that resumes.
    private var localEncoder: CodecState?
    private let toneDecoder: CodecState?
    /// Samples of the in-band digit being heard, for its duration.
    private var toneSamples = 0
    private let frameSamples: Int
    private let frameUnits: Int
    /// Longer gaps than this are silence, not loss: nothing is synthesised.
    private let maximumConcealment = 0.1

    /// Bytes reserved after a packet for SRTP's tag.
    static let packetCapacity = 1500

    var isPassthrough: Bool { decoder == nil }
    /// The source's interarrival jitter (RFC 3550 §6.4.1), in milliseconds of its RTP clock.
    var jitterMilliseconds: Double {
        Double(reception.jitter) * 1000 / Double(max(parameters.source.rtpClockRate, 1))
    }
    /// True while a telephone event plays toward the sink (audio is held back).
    var eventInProgress: Bool { events.inProgress }

    init(_ parameters: DirectionParameters, ssrc: UInt32) throws(OpusError) {
        self.parameters = parameters
        var generator = SystemRandomNumberGenerator()
        stream = RTPOutboundStream(ssrc: ssrc, clockRate: parameters.sink.rtpClockRate, using: &generator)
        if parameters.source == parameters.sink {
            decoder = nil
            encoder = nil
        } else {
            decoder = try CodecState(parameters.source, .decoder, sampleRate: parameters.sampleRate, opus: parameters.opus)
            encoder = try CodecState(parameters.sink, .encoder, sampleRate: parameters.sampleRate, opus: parameters.opus)
        }
        plc = decoder.map { $0.isOpus ? nil : PacketLossConcealer() } ?? nil
        frameSamples = parameters.sinkPacketTime * parameters.sampleRate / 1000
        frameUnits = parameters.sinkPacketTime * parameters.sink.rtpClockRate / 1000
        fifo = SampleFIFO(capacity: parameters.sampleRate / 5)
        // The longest Opus frame (120 ms) at the working rate.
        pcm = .allocate(capacity: parameters.sampleRate * 120 / 1000)
        pcm.initialize(repeating: 0)
        packet = .allocate(byteCount: Self.packetCapacity, alignment: 8)
        packet.initializeMemory(as: UInt8.self, repeating: 0)
        events = TelephoneEventRelay(source: parameters.sourceTelephoneEvent, sink: parameters.sinkTelephoneEvent)
        let g711Source = parameters.source == .phone(.pcmu) || parameters.source == .phone(.pcma)
        detector = parameters.detectInbandDTMF && g711Source ? DTMFDetector() : nil
        // Passthrough decodes nothing, so the detector gets a decoder of its own.
        toneDecoder = detector != nil && decoder == nil
            ? try CodecState(parameters.source, .decoder, sampleRate: 8000, opus: parameters.opus) : nil
    }

    deinit {
        pcm.deallocate()
        packet.deallocate()
    }

    /// One RTP packet from the source leg (already parsed and, for the
    /// browser, decrypted). `emit` is called with each packet for the sink
    /// (in a buffer with room for SRTP's tag) before this returns.
    func receive(header: RTPHeader, payload: UnsafeRawBufferPointer, now: Double,
                 emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> TelephoneEventRelay.Report? {
        if let te = parameters.sourceTelephoneEvent, header.payloadType == te.payloadType {
            return events.relay(header: header, payload: payload, now: now, stream: &stream, packet: packet, emit: emit)
        }
        guard header.payloadType == parameters.sourcePayloadType else { return nil }
        if sourceSSRC != header.ssrc { reception = RTPReceptionStatistics() }
        sourceSSRC = header.ssrc
        let arrival = UInt32(truncatingIfNeeded: Int(now * Double(parameters.source.rtpClockRate)))
        _ = reception.record(sequenceNumber: header.sequenceNumber, timestamp: header.timestamp, arrival: arrival)
        events.expire(now: now)
        if isPassthrough {
            return relayUnchanged(header: header, payload: payload, now: now, emit: emit)
        }
        return transcode(header: header, payload: payload, now: now, emit: emit)
    }

    /// A report block on the source this direction receives, if it has one.
    func makeReportBlock(lastSR: UInt32, delaySinceLastSR: UInt32) -> RTCPReportBlock? {
        guard let sourceSSRC else { return nil }
        return reception.makeReportBlock(ssrc: sourceSSRC, lastSR: lastSR, delaySinceLastSR: delaySinceLastSR)
    }

    private func relayUnchanged(header: RTPHeader, payload: UnsafeRawBufferPointer, now: Double,
                                emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> TelephoneEventRelay.Report? {
        // G.711 and G.722 both tick their 8 kHz RTP clock once per payload
        // byte; Opus by its frames' samples at 48 kHz.
        let units = parameters.source.timestampUnits(of: payload)
        switch timeline.place(ssrc: header.ssrc, timestamp: header.timestamp) {
        case .late:
            droppedLate += 1
            return nil
        case .newSource:
            stream.markerPending = true
        case .afterLoss(let missing):
            stream.advance(by: missing)
        case .inOrder:
            break
        }
        timeline.played(timestamp: header.timestamp, duration: units)
        var report: TelephoneEventRelay.Report?
        if let toneDecoder, let decoded = toneDecoder.decode(payload, into: pcm) {
            report = detectTones(in: decoded, now: now, emit: emit)
        }
        if !events.inProgress {
            send(payload: payload, now: now, emit: emit)
        }
        stream.advance(by: units)
        return report
    }

    /// Samples at the working rate in one packet toward the sink.
    var sinkFrameSamples: Int { frameSamples }

    /// One frame of the gateway's own audio (`sinkFrameSamples` samples at
    /// the working rate) into this direction's stream: same SSRC, sequence
    /// numbers and clock as the relayed audio around it.
    func sendLocalAudio(_ frame: UnsafeBufferPointer<Int16>, now: Double,
                        emit: (UnsafeMutableRawBufferPointer, Int) -> Void) {
        if localEncoder == nil {
            localEncoder = try? CodecState(parameters.sink, .encoder, sampleRate: parameters.sampleRate,
                                           opus: parameters.opus)
        }
        defer { stream.advance(by: frameUnits) }
        let headerLength = RTPHeader.fixedLength
        let area = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<(Self.packetCapacity - 64)])
        guard let localEncoder, !events.inProgress, let encoded = localEncoder.encode(frame, into: area) else { return }
        let header = stream.nextHeader(payloadType: parameters.sinkPayloadType)
        _ = header.write(to: packet)
        stream.recordSent(payloadBytes: encoded, timestamp: header.timestamp, now: now)
        emit(packet, headerLength + encoded)
    }

    /// The source's next packet starts afresh (the talk after a hold):
    /// a new talkspurt, without counting the pause as loss.
    func resynchronize() {
        timeline = InboundTimeline()
        fifo.removeAll()
        stream.markerPending = true
    }

    /// A digit the browser sent as a signaling message: RFC 4733 events
    /// toward the sink, a first packet when it begins and three end packets
    /// with its duration, on the sink's clock like every other event.
    func signal(digit: Character, ended: Bool, milliseconds: Int, now: Double,
                emit: (UnsafeMutableRawBufferPointer, Int) -> Void) {
        events.synthesize(digit: digit, ended: ended, milliseconds: milliseconds, now: now, stream: &stream,
                          packet: packet, emit: emit)
    }

    /// Runs the in-band detector over the first `count` samples of `pcm`;
    /// each digit goes to the sink as RFC 4733 events and is reported when it ends.
    private func detectTones(in count: Int, now: Double,
                             emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> TelephoneEventRelay.Report? {
        guard let detector else { return nil }
        var ended: TelephoneEventRelay.Report?
        toneSamples += count
        detector.process(UnsafeBufferPointer(rebasing: pcm[0..<count])) { report in
            switch report {
            case .began(let digit):
                toneSamples = count
                events.synthesize(digit: digit, ended: false, milliseconds: 0, now: now, stream: &stream,
                                  packet: packet, emit: emit)
            case .ended(let digit):
                let milliseconds = toneSamples * 1000 / 8000
                events.synthesize(digit: digit, ended: true, milliseconds: milliseconds, now: now,
                                  stream: &stream, packet: packet, emit: emit)
                ended = TelephoneEventRelay.Report(digit: digit, event: TelephoneEvent.event(forDigit: digit) ?? 0,
                                                   milliseconds: milliseconds, ended: true)
            }
        }
        return ended
    }

    private func transcode(header: RTPHeader, payload: UnsafeRawBufferPointer, now: Double,
                           emit: (UnsafeMutableRawBufferPointer, Int) -> Void) -> TelephoneEventRelay.Report? {
        guard let decoder, let encoder else { return nil }
        let sourceClock = parameters.source.rtpClockRate
        let rate = parameters.sampleRate
        switch timeline.place(ssrc: header.ssrc, timestamp: header.timestamp) {
        case .late:
            droppedLate += 1
            return nil
        case .newSource:
            // Our stream carries on (same SSRC, numbering, clock), but the
            // audio is from elsewhere now: a new talkspurt.
            stream.markerPending = true
        case .inOrder:
            break
        case .afterLoss(let units):
            let missing = units * rate / sourceClock
            if Double(units) / Double(sourceClock) <= maximumConcealment {
                conceal(missing, before: payload, decoder: decoder)
            } else {
                // Silence (DTX, hold, a long outage): keep the sink's clock
                // in step with the source's and start a new talkspurt.
                fifo.removeAll()
                stream.advance(by: units * parameters.sink.rtpClockRate / sourceClock)
                stream.markerPending = true
            }
        }
        guard let decoded = decoder.decode(payload, into: pcm), decoded > 0 else {
            undecodable += 1
            return nil
        }
        plc?.received(UnsafeMutableBufferPointer(rebasing: pcm[0..<decoded]))
        timeline.played(timestamp: header.timestamp, duration: decoded * sourceClock / rate)
        let report = detectTones(in: decoded, now: now, emit: emit)
        fifo.append(UnsafeBufferPointer(rebasing: pcm[0..<decoded]))
        drain(encoder: encoder, now: now, emit: emit)
        return report
    }

    /// Fills a gap of `samples` with FEC (Opus, one frame lost) or concealment.
    private func conceal(_ samples: Int, before payload: UnsafeRawBufferPointer, decoder: CodecState) {
        var remaining = min(samples, pcm.count)
        if decoder.isOpus, decoder.sampleCount(of: payload) == remaining,
           let recovered = decoder.decodeFEC(payload, into: UnsafeMutableBufferPointer(rebasing: pcm[0..<remaining])) {
            fifo.append(UnsafeBufferPointer(rebasing: pcm[0..<recovered]))
            concealedSamples += recovered
            return
        }
        let chunk = parameters.sampleRate / 50
        while remaining > 0 {
            let length = min(chunk, remaining)
            let frame = UnsafeMutableBufferPointer(rebasing: pcm[0..<length])
            if let plc {
                plc.fillIn(frame)
            } else if decoder.conceal(into: frame) == nil {
                frame.update(repeating: 0)
            }
            fifo.append(UnsafeBufferPointer(frame))
            concealedSamples += length
            remaining -= length
        }
    }

    private func drain(encoder: CodecState, now: Double, emit: (UnsafeMutableRawBufferPointer, Int) -> Void) {
        let headerLength = RTPHeader.fixedLength
        while fifo.count >= frameSamples {
            let payloadArea = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<(Self.packetCapacity - 64)])
            let encoded = fifo.consume(frameSamples) { encoder.encode($0, into: payloadArea) } ?? nil
            if let encoded, !events.inProgress {
                let header = stream.nextHeader(payloadType: parameters.sinkPayloadType)
                _ = header.write(to: packet)
                stream.recordSent(payloadBytes: encoded, timestamp: header.timestamp, now: now)
                emit(packet, headerLength + encoded)
            }
            stream.advance(by: frameUnits)
        }
    }

    private func send(payload: UnsafeRawBufferPointer, now: Double, emit: (UnsafeMutableRawBufferPointer, Int) -> Void) {
        let headerLength = RTPHeader.fixedLength
        guard payload.count <= Self.packetCapacity - 64 - headerLength else { return }
        let header = stream.nextHeader(payloadType: parameters.sinkPayloadType)
        _ = header.write(to: packet)
        UnsafeMutableRawBufferPointer(rebasing: packet[headerLength..<(headerLength + payload.count)]).copyMemory(from: payload)
        stream.recordSent(payloadBytes: payload.count, timestamp: header.timestamp, now: now)
        emit(packet, headerLength + payload.count)
    }
}
