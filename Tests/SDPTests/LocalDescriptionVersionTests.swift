// RFC 3264 §8: the o= version rises exactly when a description we send changes.
import Testing
@testable import SDP

@Suite("Local description version") struct LocalDescriptionVersionTests {
    func audio(_ direction: SDPDirection, port: UInt16 = 4000) -> SessionDescription {
        PlainAudioDescription(address: "127.0.0.1", port: port, codecs: [.pcmu], ptime: 20, direction: direction)
            .sessionDescription(sessionID: 99, sessionVersion: 0)
    }

    @Test func holdAndResumeRaiseTheVersionARepeatDoesNot() {
        var version = LocalDescriptionVersion(sessionID: 1234)
        let first = version.stamp(audio(.sendrecv))
        #expect(first.origin.sessionID == "1234")
        #expect(first.origin.sessionVersion == 1)
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 1)  // a 200 repeating the 183's SDP
        #expect(version.stamp(audio(.recvonly)).origin.sessionVersion == 2)  // answering a hold
        #expect(version.stamp(audio(.recvonly)).origin.sessionVersion == 2)  // a refresh while held
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 3)  // resumed
        #expect(version.stamp(audio(.sendrecv, port: 4002)).origin.sessionVersion == 4)
        // What goes on the wire says so too.
        #expect(version.stamp(audio(.sendrecv, port: 4002)).serialize().contains("o=tieline 1234 4 IN IP4 127.0.0.1"))
    }

    @Test func aVersionGivenByTheCallerIsIgnored() {
        var version = LocalDescriptionVersion(sessionID: 7, firstVersion: 10)
        var description = audio(.sendrecv)
        description.origin.sessionVersion = 500
        #expect(version.stamp(description).origin.sessionVersion == 10)
        description.origin.sessionVersion = 501
        #expect(version.stamp(description).origin.sessionVersion == 10)
    }

    /// After someone else's descriptions in the same session (the gateway's
    /// relay took the phone side), the same description again goes above them.
    @Test func skippingPastAnotherVersionRaisesTheNextEvenUnchanged() {
        var version = LocalDescriptionVersion(sessionID: 7)
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 1)
        version.skip(past: 5)
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 6)
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 6)  // a repeat changes nothing again
        version.skip(past: 2)  // never goes back
        #expect(version.stamp(audio(.sendrecv)).origin.sessionVersion == 7)
    }
}
