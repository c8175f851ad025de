import Foundation
import SIP

/// Parse and serialize throughput of a typical INVITE with an SDP body.
enum ParseBenchmark {
    static let invite: [UInt8] = {
        let sdp = """
        v=0\r
        o=- 4611731400430051336 2 IN IP4 192.0.2.10\r
        s=-\r
        c=IN IP4 192.0.2.10\r
        t=0 0\r
        m=audio 49170 RTP/AVP 0 8 9 101\r
        a=rtpmap:0 PCMU/8000\r
        a=rtpmap:8 PCMA/8000\r
        a=rtpmap:9 G722/8000\r
        a=rtpmap:101 telephone-event/8000\r
        a=fmtp:101 0-16\r
        a=ptime:20\r
        a=sendrecv\r

        """
        let head = """
        INVITE sip:+493012345678@trunk.example.com:5060;user=phone SIP/2.0\r
        Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9a8d1c2e;rport\r
        Max-Forwards: 70\r
        From: "Alice Example" <sip:alice@gateway.example.com>;tag=9fxced76sl\r
        To: <sip:+493012345678@trunk.example.com>\r
        Call-ID: 3848276298220188511@gateway.example.com\r
        CSeq: 1 INVITE\r
        Contact: <sip:tieline@192.0.2.10:5060>\r
        Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r
        Supported: replaces, timer\r
        User-Agent: Tieline\r
        Content-Type: application/sdp\r
        Content-Length: \(sdp.utf8.count)\r
        \r

        """
        return Array((head + sdp).utf8)
    }()

    static func run() {
        let iterations = 200_000
        var rates: [Double] = []
        var output: [UInt8] = []
        output.reserveCapacity(2048)
        var checksum = 0
        for _ in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations {
                guard let message = try? SIPParser.parse(invite) else { fatalError("benchmark INVITE did not parse") }
                output.removeAll(keepingCapacity: true)
                message.serialize(into: &output)
                checksum &+= output.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            rates.append(Double(iterations) / seconds)
        }
        rates.sort()
        let median = rates[rates.count / 2]
        print(String(format: "parse+serialize INVITE with SDP (%d bytes): median %.0f msgs/s on one core (min %.0f, max %.0f; target >= 500000) [%d]",
                     invite.count, median, rates.first!, rates.last!, checksum % 10))
    }
}
