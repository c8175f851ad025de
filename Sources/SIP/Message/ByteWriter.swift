/// Writes into memory reserved beforehand. Serialization first counts the bytes it needs, then
/// copies every piece once; appending piece by piece to an Array cost more than the copying.
/// Every write is bounds-checked, so a miscount truncates output instead of corrupting memory.
struct ByteWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always) mutating func write(_ byte: UInt8) {
        guard count < capacity else { return }
        base[count] = byte
        count += 1
    }

    @inline(__always) mutating func write(_ p: Octets, _ lo: Int, _ hi: Int) {
        let n = hi - lo
        guard n > 0, count + n <= capacity, let source = p.baseAddress else { return }
        (base + count).update(from: source + lo, count: n)
        count += n
    }

    @inline(__always) mutating func write(_ s: String) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { write($0, 0, $0.count) }
        if done == nil { for c in s.utf8 { write(c) } }
    }

    @inline(__always) mutating func write(_ s: StaticString) {
        write(Octets(start: s.utf8Start, count: s.utf8CodeUnitCount), 0, s.utf8CodeUnitCount)
    }

    mutating func writeDecimal(_ n: Int) {
        guard n >= 0 else {
            write(String(n))
            return
        }
        let digits = decimalDigitCount(n)
        guard count + digits <= capacity else { return }
        var v = n
        var k = count + digits - 1
        repeat {
            base[k] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
            k -= 1
        } while v > 0
        count += digits
    }
}

/// Octets `ByteWriter.writeDecimal` writes for `n`.
@inline(__always) func decimalDigitCount(_ n: Int) -> Int {
    guard n >= 0 else { return String(n).utf8.count }
    var digits = 1
    var v = n
    while v >= 10 {
        v /= 10
        digits += 1
    }
    return digits
}

/// An array of exactly `count` bytes written by `body` (shorter if `body` writes less).
func writeBytes(count: Int, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        guard let base = buffer.baseAddress else {
            initialized = 0
            return
        }
        var writer = ByteWriter(base, capacity: count)
        body(&writer)
        initialized = writer.count
    }
}

/// A String of the UTF-8 `body` writes; the description of every value type here.
func writeString(count: Int, _ body: (inout ByteWriter) -> Void) -> String {
    String(unsafeUninitializedCapacity: count) { buffer in
        guard let base = buffer.baseAddress else { return 0 }
        var writer = ByteWriter(base, capacity: count)
        body(&writer)
        return writer.count
    }
}
