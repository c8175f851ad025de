// Errors of the RTP, RTCP and telephone-event parsers.
//
// The RTP cases carry only integers so that rejecting a hostile packet on the
// media hot path never allocates: a flood of garbage costs a counter, not the
// heap. Every case says where in the buffer the problem is.

public enum RTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The buffer ends before a field does: `needed` bytes from the start of
    /// the buffer would be required, only `available` are there.
    case truncated(needed: Int, available: Int)
    /// The version field (first two bits) of the packet at `offset` is not 2.
    case unsupportedVersion(offset: Int, version: UInt8)
    /// The P bit is set but the padding count in the last octet is zero or
    /// reaches back into the header (`available` bytes follow the header).
    case invalidPadding(offset: Int, count: Int, available: Int)
    /// An RTCP packet at `offset` whose body contradicts its own count or
    /// length fields; `reason` names the part that does not fit.
    case malformedRTCP(offset: Int, packetType: UInt8, reason: String)

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            "The packet is truncated: \(needed) bytes are needed, only \(available) are present."
        case .unsupportedVersion(let offset, let version):
            "The packet at byte \(offset) has version \(version), not 2."
        case .invalidPadding(let offset, let count, let available):
            "The packet at byte \(offset) has a padding count of \(count) with \(available) bytes after its header."
        case .malformedRTCP(let offset, let packetType, let reason):
            "The RTCP packet of type \(packetType) at byte \(offset) is malformed: \(reason)."
        }
    }
}
