// The contributing sources of an RTP packet, stored inline.
//
// The CC field is four bits, so a packet names at most 15 CSRCs; 60 bytes of
// fixed storage always suffice and parsing never touches the heap, whatever
// the packet carries (a mixer downstream of a conference does send CSRCs).

public struct CSRCList: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral {
    /// The most a 4-bit CSRC count can express.
    public static let capacity = 15

    private var storage: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                          UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var storedCount: UInt8 = 0

    public init() {}

    // Both initializers fill a local and assign it once: appending to `self`
    // directly inside the failable initializer lost the count under -O with
    // Swift 6.3.1 (the CSRCs were stored, the count stayed 0).

    /// Nil when the sequence holds more than `capacity` identifiers.
    public init?(_ csrcs: some Sequence<UInt32>) {
        var list = CSRCList()
        for csrc in csrcs {
            guard list.append(csrc) else { return nil }
        }
        self = list
    }

    /// A literal longer than 15 is a programming error, not input.
    public init(arrayLiteral elements: UInt32...) {
        precondition(elements.count <= Self.capacity, "an RTP packet carries at most 15 CSRCs")
        var list = CSRCList()
        for csrc in elements { list.append(csrc) }
        self = list
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(storedCount) }

    public subscript(position: Int) -> UInt32 {
        get {
            precondition(indices.contains(position), "CSRC index out of range")
            return withUnsafeBytes(of: storage) {
                $0.load(fromByteOffset: position * 4, as: UInt32.self)
            }
        }
        set {
            precondition(indices.contains(position), "CSRC index out of range")
            withUnsafeMutableBytes(of: &storage) {
                $0.storeBytes(of: newValue, toByteOffset: position * 4, as: UInt32.self)
            }
        }
    }

    /// Adds a CSRC; false (and no change) when the list is already full.
    @discardableResult
    public mutating func append(_ csrc: UInt32) -> Bool {
        guard storedCount < Self.capacity else { return false }
        storedCount += 1
        self[Int(storedCount) - 1] = csrc
        return true
    }

    public mutating func removeAll() {
        storedCount = 0
    }

    // Only the used slots count; stale values past the end must not matter.
    public static func == (lhs: CSRCList, rhs: CSRCList) -> Bool {
        lhs.elementsEqual(rhs)
    }
}
