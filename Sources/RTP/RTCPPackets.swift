// RTCP packet types of RFC 3550 §6.4-§6.7 as plain values.
//
// RTCP arrives a few times a second per call, not per media packet, so these
// use arrays freely; only the RTP path is held to no allocation.

/// One packet of a compound RTCP packet.
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case sourceDescription(RTCPSourceDescription)
    case goodbye(RTCPGoodbye)
    case applicationDefined(RTCPApplicationDefined)
    /// Types we do not interpret (feedback of RFC 4585, XR, ...), kept whole.
    case unknown(RTCPUnknownPacket)

    /// Packet type (PT) values of RFC 3550 §12.1.
    public static let senderReportType: UInt8 = 200
    public static let receiverReportType: UInt8 = 201
    public static let sourceDescriptionType: UInt8 = 202
    public static let goodbyeType: UInt8 = 203
    public static let applicationDefinedType: UInt8 = 204

    /// Whether a datagram on an rtcp-mux port is RTCP, from its second byte.
    /// RFC 5761 §4: RTCP packet types 192-223 would be RTP payload types
    /// 64-95 with the marker bit set, a range kept free of RTP for this.
    public static func isRTCP(_ secondByte: UInt8) -> Bool {
        (192...223).contains(secondByte)
    }
}

/// A reception report block of an SR or RR (RFC 3550 §6.4.1).
public struct RTCPReportBlock: Sendable, Equatable {
    /// SSRC_n: the source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative number of packets lost; 24-bit signed on the wire
    /// (duplicates can make it negative), clamped to that range when written.
    public var cumulativeLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter in timestamp units.
    public var interarrivalJitter: UInt32
    /// LSR: middle 32 bits of the NTP timestamp of the last SR from this source.
    public var lastSR: UInt32
    /// DLSR: delay since that SR was received, in 1/65536 seconds.
    public var delaySinceLastSR: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8 = 0, cumulativeLost: Int32 = 0,
                extendedHighestSequenceNumber: UInt32 = 0, interarrivalJitter: UInt32 = 0,
                lastSR: UInt32 = 0, delaySinceLastSR: UInt32 = 0) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.interarrivalJitter = interarrivalJitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    public static let byteCount = 24
    public static let maximumCumulativeLost: Int32 = 0x7F_FFFF
    public static let minimumCumulativeLost: Int32 = -0x80_0000
}

/// SR: sent by a source that sent RTP since its last report (§6.4.1).
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// 64-bit NTP timestamp: seconds since 1900 in the high word, fraction in the low.
    public var ntpTimestamp: UInt64
    /// The same instant as `ntpTimestamp` in the RTP clock of this source.
    public var rtpTimestamp: UInt32
    public var senderPacketCount: UInt32
    public var senderOctetCount: UInt32
    /// At most 31 (the RC field); further blocks are not written.
    public var reportBlocks: [RTCPReportBlock]
    /// Profile-specific extension after the blocks, written padded to 32 bits.
    public var profileExtension: [UInt8]

    public init(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32,
                senderPacketCount: UInt32, senderOctetCount: UInt32,
                reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.senderPacketCount = senderPacketCount
        self.senderOctetCount = senderOctetCount
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }

    /// What a receiver echoes as LSR: the middle 32 bits of the NTP timestamp.
    public var compactNTPTimestamp: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }
}

/// RR: sent by a participant that is not sending RTP (§6.4.2).
public struct RTCPReceiverReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// At most 31 (the RC field); further blocks are not written.
    public var reportBlocks: [RTCPReportBlock]
    public var profileExtension: [UInt8]

    public init(ssrc: UInt32, reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }
}

/// SDES (§6.5): per source, a list of items; CNAME is the one that matters.
public struct RTCPSourceDescription: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public static let cname: UInt8 = 1
        public static let name: UInt8 = 2
        public static let tool: UInt8 = 6

        public var type: UInt8
        /// At most 255 octets are written.
        public var value: [UInt8]

        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }

        public static func cname(_ text: String) -> Item {
            Item(type: cname, value: Array(text.utf8))
        }
    }

    public struct Chunk: Sendable, Equatable {
        public var ssrc: UInt32
        public var items: [Item]

        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }

        /// The canonical end-point identifier, if the chunk carries one.
        public var cname: String? {
            items.first { $0.type == Item.cname }.map { String(decoding: $0.value, as: UTF8.self) }
        }
    }

    /// At most 31 (the SC field); further chunks are not written.
    public var chunks: [Chunk]

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }
}

/// BYE (§6.6): the sources are leaving.
public struct RTCPGoodbye: Sendable, Equatable {
    /// At most 31 (the SC field); further SSRCs are not written.
    public var ssrcs: [UInt32]
    /// Reason for leaving; at most 255 octets are written.
    public var reason: [UInt8]?

    public init(ssrcs: [UInt32], reason: [UInt8]? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }
}

/// APP (§6.7): application-defined, identified by a 4-character name.
public struct RTCPApplicationDefined: Sendable, Equatable {
    /// 5 bits.
    public var subtype: UInt8
    public var ssrc: UInt32
    /// The four ASCII characters of the name, as one big-endian word.
    public var name: UInt32
    public var data: [UInt8]

    public init(subtype: UInt8, ssrc: UInt32, name: UInt32, data: [UInt8]) {
        self.subtype = subtype
        self.ssrc = ssrc
        self.name = name
        self.data = data
    }
}

/// An RTCP packet of a type we do not interpret, exactly as received.
public struct RTCPUnknownPacket: Sendable, Equatable {
    public var packetType: UInt8
    /// The whole packet, its 4-byte header included.
    public var bytes: [UInt8]

    public init(packetType: UInt8, bytes: [UInt8]) {
        self.packetType = packetType
        self.bytes = bytes
    }
}
