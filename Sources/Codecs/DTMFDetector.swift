import CSpanDSP

/// In-band DTMF detection with spandsp's detector (ITU-T Q.24 timing and
/// twist limits), for phones that send digits as tones instead of RFC 4733
/// events. Feed it 8 kHz audio; it reports each digit as it starts and ends.
public final class DTMFDetector {
    public enum Report: Equatable, Sendable {
        case began(Character)
        case ended(Character)
    }

    private let state: OpaquePointer
    /// What the callback reported during the current `process` call; the
    /// detector reports at most a start and an end per 20 ms or so.
    private var pending: (Report?, Report?, Report?, Report?) = (nil, nil, nil, nil)
    private var pendingCount = 0
    private var current: Character?

    public init() {
        state = dtmf_rx_init(nil, nil, nil)
        dtmf_rx_set_realtime_callback(state, { userData, code, _, _ in
            guard let userData else { return }
            Unmanaged<DTMFDetector>.fromOpaque(userData).takeUnretainedValue().toneChanged(code)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { dtmf_rx_free(state) }

    /// Runs the detector over `pcm` (8 kHz); `report` is called for each change.
    public func process(_ pcm: UnsafeBufferPointer<Int16>, report: (Report) -> Void) {
        guard let samples = pcm.baseAddress, pcm.count > 0 else { return }
        pendingCount = 0
        _ = dtmf_rx(state, samples, Int32(pcm.count))
        let reports = pending
        if pendingCount > 0, let first = reports.0 { report(first) }
        if pendingCount > 1, let second = reports.1 { report(second) }
        if pendingCount > 2, let third = reports.2 { report(third) }
        if pendingCount > 3, let fourth = reports.3 { report(fourth) }
    }

    private func toneChanged(_ code: Int32) {
        let next: Report?
        if code == 0 {
            next = current.map { .ended($0) }
            current = nil
        } else {
            let digit = Character(Unicode.Scalar(UInt8(truncatingIfNeeded: code)))
            if let current, current != digit { record(.ended(current)) }
            current = digit
            next = .began(digit)
        }
        if let next { record(next) }
    }

    private func record(_ report: Report) {
        switch pendingCount {
        case 0: pending.0 = report
        case 1: pending.1 = report
        case 2: pending.2 = report
        case 3: pending.3 = report
        default: return
        }
        pendingCount += 1
    }
}
