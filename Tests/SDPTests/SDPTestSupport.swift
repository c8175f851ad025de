// Shared helpers of the SDP tests: the captured descriptions in Vectors/ and small parse helpers.
// Names are specific on purpose, in case this module is ever shared with other layers' tests.
import Foundation
import Testing
import SDP

enum SDPVectors {
    /// Descriptions captured from real stacks (Chromium, aiortc), stored with their CRLFs.
    static let names = ["aiortc_lite_answer_to_chromium", "aiortc_offer", "chromium_offer",
                        "chromium_offer_complete_nontrickle"]

    static func text(_ name: String) throws -> String {
        let root = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        return try String(contentsOf: root.appendingPathComponent(name + ".sdp"), encoding: .utf8)
    }

    static func parsed(_ name: String) throws -> SessionDescription {
        try SessionDescription.parse(text(name))
    }
}

/// Text written with "\n" in the test, sent with CRLF as RFC 8866 §5 asks.
func sdpCRLF(_ text: String) -> String {
    text.replacingOccurrences(of: "\n", with: "\r\n")
}

/// The error a parse fails with, or nil when it succeeds.
func sdpParseFailure(_ text: String) -> SDPError? {
    do throws(SDPError) {
        _ = try SessionDescription.parse(text)
        return nil
    } catch {
        return error
    }
}

/// The error a typed-throwing read fails with, or nil when it succeeds.
func sdpFailure<T>(_ body: () throws(SDPError) -> T) -> SDPError? {
    do throws(SDPError) {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// What a sipp UAS (the uas scenario's 200 OK) answers with: G.711 and RFC 4733 events.
let sippUASAnswerText = """
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20

"""
