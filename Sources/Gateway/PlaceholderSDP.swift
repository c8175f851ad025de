/// The session description Tieline answers with until the media plane
/// exists: a well-formed G.711 audio offer/answer on an address and port of
/// the configured media range, with no socket behind it yet.
enum PlaceholderSDP {
    static func make(address: String, port: Int, sessionID: UInt64 = UInt64.random(in: 1...UInt64(Int64.max))) -> [UInt8] {
        let family = address.contains(":") ? "IP6" : "IP4"
        let lines = [
            "v=0",
            "o=tieline \(sessionID) 1 IN \(family) \(address)",
            "s=Tieline",
            "c=IN \(family) \(address)",
            "t=0 0",
            "m=audio \(port) RTP/AVP 0 8 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }
}
