import NIOCore

/// One OPTIONS outside any dialog (RFC 3261 §11), the usual way to ask
/// whether a trunk is there: any response says it is (a 404 or 405 as much
/// as a 200, as Kamailio's dispatcher and Asterisk's qualify take it);
/// none within `deadline` says it is not. The transaction itself runs on to
/// Timer F; a response after the deadline is not reported.
extension SIPUserAgent {
    public func ping(_ destination: SIPEndpoint, requestURI: SIPURI, from: SIPURI, deadline: TimeAmount,
                     completion: @escaping (Result<SIPResponse, CallFailure>) -> Void) {
        eventLoop.preconditionInEventLoop()
        var headers = SIPHeaders()
        headers.add("Max-Forwards", "70")
        headers.add("From", NameAddress(uri: from, parameters: [.init(name: "tag", value: SIPIdentifiers.tag())]).description)
        headers.add("To", NameAddress(uri: requestURI).description)
        headers.add("Call-ID", SIPIdentifiers.callID())
        headers.add("CSeq", "1 OPTIONS")
        headers.add("Accept", "application/sdp")
        var request = SIPRequest(method: .options, uri: requestURI, headers: headers)
        stampVia(&request, transport: destination.transport)
        var reported = false
        let report = { (result: Result<SIPResponse, CallFailure>) in
            guard !reported else { return }
            reported = true
            completion(result)
        }
        let timer = transactions.schedule(in: deadline) {
            report(.failure(CallFailure(statusCode: 408, reason: "No response in \(deadline.nanoseconds / 1_000_000) ms",
                                        noResponse: true)))
        }
        transactions.send(request, to: destination) { event in
            switch event {
            case .response(let response) where response.statusCode < 200:
                return  // a 1xx to OPTIONS is unusual, but shows the peer is there: wait for its final
            case .response(let response):
                timer.cancel()
                report(.success(response))
            case .timeout:
                timer.cancel()
                report(.failure(CallFailure(statusCode: 408, reason: "Request Timeout", noResponse: true)))
            case .transportError(let error):
                timer.cancel()
                report(.failure(CallFailure(statusCode: 503, reason: "Transport error: \(error)")))
            }
        }
    }
}
