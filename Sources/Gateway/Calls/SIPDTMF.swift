import Config
import NIOCore
import SIP
import Signaling

// Digits between a browser and a SIP far end that the trunk's `dtmf` says
// go as SIP INFO (or do, under `auto`, when the call has no RTP events).

extension MediaEndpoint {
    /// A browser's `dtmf` message toward a trunk's dialog, the way the trunk
    /// takes digits: RTP events, INFO, or events with INFO as the fallback.
    func playDTMF(_ digits: String, milliseconds: Int, mode: TrunkConfig.DTMFMode, dialog: Dialog,
                  loop: any EventLoop, for client: any BrowserConnection, call: String) {
        switch mode {
        case .rfc4733:
            playDTMF(digits, milliseconds: milliseconds, for: client, call: call)
        case .info:
            dialog.sendInfoDigits(digits, milliseconds: milliseconds, loop: loop)
        case .auto:
            let dialog = LoopBound(dialog)
            Task {
                let sent = (try? await sendDTMF(digits, milliseconds: milliseconds)) ?? false
                if !sent { loop.execute { dialog.value.sendInfoDigits(digits, milliseconds: milliseconds, loop: loop) } }
            }
        }
    }
}

extension Dialog {
    /// One INFO per digit, spaced as RTP events would be (the digit's
    /// duration and 60 ms between digits), in order.
    func sendInfoDigits(_ digits: String, milliseconds: Int, loop: any EventLoop) {
        let dialog = LoopBound(self)
        for (index, digit) in digits.enumerated() {
            loop.scheduleTask(in: .milliseconds(Int64(index * (milliseconds + 60)))) {
                dialog.value.sendInfo(body: InfoDTMF.relayBody(digit, milliseconds: milliseconds),
                                      contentType: InfoDTMF.relayType)
            }
        }
    }

    /// INFO from the far end: a DTMF body's digit goes to `digit` (200); an
    /// empty INFO (a keepalive) gets 200; any other body 415, since no Info
    /// Package is agreed (RFC 6086 §4.2.2 allows legacy INFO only so).
    func takeInfoDTMF(_ digit: @escaping (Character) -> Void) {
        onInfo = { transaction in
            let request = transaction.request
            if let found = InfoDTMF.digit(contentType: request.headers["Content-Type"], body: request.body) {
                transaction.respond(200)
                digit(found)
            } else if request.body.isEmpty {
                transaction.respond(200)
            } else {
                transaction.respond(415, reason: "Unsupported Media Type",
                                    headers: [("Accept", "\(InfoDTMF.relayType), \(InfoDTMF.plainType)")])
            }
        }
    }
}

extension Dialog {
    /// INFO from the peer (DTMF as `application/dtmf-relay` or
    /// `application/dtmf`, or any other body) goes on to `other` as it
    /// came, and is answered 200 here: two dialogs the gateway joins.
    func passInfo(to other: Dialog) {
        onInfo = { [weak other] transaction in
            let request = transaction.request
            if let other, !other.isTerminated, !request.body.isEmpty, let type = request.headers["Content-Type"] {
                other.sendInfo(body: request.body, contentType: type)
            }
            transaction.respond(200)
        }
    }
}
