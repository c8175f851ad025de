/// A fixed-capacity queue of 16-bit samples between a decoder that produces
/// frames of one size and an encoder that consumes frames of another (the
/// packetization adaptation between legs). Allocated once per call.
final class SampleFIFO {
    private let storage: UnsafeMutableBufferPointer<Int16>
    private var start = 0
    private(set) var count = 0

    init(capacity: Int) {
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: 0)
    }

    deinit { storage.deallocate() }

    var capacity: Int { storage.count }

    /// Appends samples; when full, the oldest are dropped (the far side is
    /// sending faster than we drain, so latency must not grow without bound).
    func append(_ samples: UnsafeBufferPointer<Int16>) {
        var source = samples
        if source.count > capacity { source = UnsafeBufferPointer(rebasing: source[(source.count - capacity)...]) }
        let overflow = count + source.count - capacity
        if overflow > 0 { discard(overflow) }
        compactIfNeeded(room: source.count)
        let end = start + count
        _ = UnsafeMutableBufferPointer(rebasing: storage[end..<(end + source.count)]).initialize(from: source)
        count += source.count
    }

    /// Calls `body` with the oldest `length` samples and removes them.
    func consume<R>(_ length: Int, _ body: (UnsafeBufferPointer<Int16>) -> R) -> R? {
        guard length <= count else { return nil }
        let result = body(UnsafeBufferPointer(rebasing: storage[start..<(start + length)]))
        discard(length)
        return result
    }

    func removeAll() {
        start = 0
        count = 0
    }

    private func discard(_ length: Int) {
        start += length
        count -= length
        if count == 0 { start = 0 }
    }

    private func compactIfNeeded(room: Int) {
        guard start + count + room > capacity else { return }
        // Move the live samples to the front; they are few (one frame or so).
        if let base = storage.baseAddress {
            (base).update(from: base + start, count: count)
        }
        start = 0
    }
}
