import NIOCore

extension MediaSession {
    /// Joins the phone sides of two sessions inside the process, for a call
    /// from one browser to another: what either bridge would send to its
    /// phone goes straight into the other's bridge, as if it had come from a
    /// phone, without a socket. Offer/answer between the two still runs
    /// (`phoneOffer`, `answerPhoneOffer`, `acceptPhoneAnswer`) so that both
    /// agree on a codec exactly as with a trunk; the addresses in those
    /// descriptions are never used once joined. Both sessions must be on one
    /// loop (`MediaEngine.makeSession(on:)`), so a packet crosses from one
    /// browser to the other in one turn of that loop.
    public func join(_ other: MediaSession) async throws {
        guard other !== self, other.eventLoop === eventLoop else {
            throw MediaError.negotiation("sessions joined in the process must share one event loop")
        }
        try await eventLoop.submit { [self] in
            unjoinOnLoop()
            other.unjoinOnLoop()
            // Weak both ways: each session owns its CallMedia, and the other's
            // closure must not keep it alive after its call ended.
            media.localPhone = { [weak other] packet in other?.media.receiveFromLocalPhone(packet, now: Self.now()) }
            other.media.localPhone = { [weak self] packet in self?.media.receiveFromLocalPhone(packet, now: Self.now()) }
            joined = other
            other.joined = self
        }.get()
    }

    /// Undoes `join` on both sides (the other call was not answered, or
    /// ended): each phone side may then go to the network again, say to a
    /// trunk the dialplan tries next. Runs before anything submitted to the
    /// loop after it, such as the next far end's answer.
    public func unjoin() {
        eventLoop.execute { [self] in unjoinOnLoop() }
    }

    func unjoinOnLoop() {
        eventLoop.preconditionInEventLoop()
        guard let other = joined else { return }
        joined = nil
        media.localPhone = nil
        if other.joined === self {
            other.joined = nil
            other.media.localPhone = nil
        }
    }
}
