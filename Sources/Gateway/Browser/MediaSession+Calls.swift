import Media
import NIOCore
import SDP
import SIP
import Signaling

extension MediaSession {
    /// The answer to a phone's re-INVITE: the same codec and port as before,
    /// with the direction mirrored (a hold's sendonly gets recvonly), so
    /// nothing changes toward the browser.
    func modifyAnswer(to offer: PlainAudioDescription, address: String) -> [UInt8] {
        let codecs = offer.codecs.compactMap { PhoneCodec(name: $0.name) }
        var text = phoneOffer(address: address, codecs: codecs.isEmpty ? [.pcmu] : Array(codecs.prefix(1))).serialize()
        if offer.direction != .sendrecv {
            text = text.replacingOccurrences(of: "a=sendrecv", with: "a=\(offer.direction.reversed.rawValue)")
        }
        return Array(text.utf8)
    }
}

extension MediaSession {
    /// A browser's `dtmf` message, played toward the phone; the browser hears
    /// error 488 when the phone side negotiated no telephone-event.
    func playDTMF(_ digits: String, milliseconds: Int, for client: SignalingClient, call: String) {
        Task {
            if !((try? await sendDTMF(digits, milliseconds: milliseconds)) ?? false) {
                client.send(.error(code: 488, reason: "the far end takes no telephone-events", call: call))
            }
        }
    }
}

extension Gateway {
    /// 200 to an in-dialog re-INVITE or UPDATE, with our SDP.
    func respondToModify(_ transaction: ServerTransaction, body: [UInt8]) {
        // The To tag is already in the request: this is a dialog's request.
        var response = SIPResponse.to(transaction.request, statusCode: 200)
        response.headers.add("Contact", "<\(userAgent.contactURI(transaction.source.transport))>")
        response.headers.add("Allow", SIPUserAgent.allowedMethods)
        response.headers.add("Content-Type", "application/sdp")
        response.body = body
        transaction.respond(response)
    }
}
