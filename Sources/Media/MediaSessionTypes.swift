import Codecs
import NIOCore
import SecureMedia

/// Settings every media session of a gateway shares.
public struct MediaSessionConfiguration: Sendable {
    /// Latch the phone leg to where its RTP really comes from (RFC 4961).
    public var symmetricRTP = true
    /// Seconds between RTCP reports on each leg.
    public var rtcpInterval = 5.0
    /// RFC 7675: media stops when no valid check arrived for this long.
    public var consentTimeout = 30.0
    /// The call ends when the browser's first valid check takes longer.
    public var connectTimeout = 30.0
    public var opus = OpusEncoderConfiguration()
    /// SRTP profiles offered in DTLS, most preferred first: GCM is about
    /// three times cheaper than AES-CM with HMAC-SHA1 on Debian's libsrtp2.
    /// Pass G.711 or G.722 through untouched when the browser offers the phone's codec.
    public var preferPassthrough = true
    /// Also listen for DTMF tones in the phone's G.711 audio (for phones
    /// that send no RFC 4733 events); found digits go to the browser as events.
    public var detectInbandDTMF = false
    public var srtpProfiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmSha1_80]
    /// What the phone hears while the browser holds the call.
    public var holdMusic = HoldMusic.tone()

    public init() {}
}

/// What the browser's SDP says about its transport, for the WebRTC leg.
public struct BrowserTransportParameters: Sendable {
    public var remoteUfrag: String
    public var remotePassword: String
    /// SHA-256 of the browser's DTLS certificate, from its a=fingerprint.
    public var remoteFingerprint: [UInt8]
    /// `.server` when the browser is DTLS client (a=setup:active, or actpass in its offer).
    public var dtlsRole: DTLSEndpoint.Role

    public init(remoteUfrag: String, remotePassword: String, remoteFingerprint: [UInt8], dtlsRole: DTLSEndpoint.Role) {
        self.remoteUfrag = remoteUfrag
        self.remotePassword = remotePassword
        self.remoteFingerprint = remoteFingerprint
        self.dtlsRole = dtlsRole
    }
}

/// What a session reports to the call that owns it, on the session's loop.
public enum MediaEvent: Sendable, Equatable {
    /// ICE and DTLS completed; SRTP runs with this profile.
    case browserConnected(SRTPProfile)
    /// A DTMF digit crossed the bridge (reported when it ends).
    case dtmf(DTMFReport)
    /// The session stopped; no more media flows.
    case ended(reason: String)
}

/// A snapshot of one session's counters.
public struct MediaStatistics: Sendable {
    public var browserState = "checking"
    public var srtpProfile: SRTPProfile?
    public var passthrough = false
    /// The codecs the bridge runs with ("opus", "PCMU", ...), once it runs.
    public var browserCodec: String?
    public var phoneCodec: String?
    public var packetsFromBrowser: UInt32 = 0
    public var packetsFromPhone: UInt32 = 0
    public var packetsToBrowser: UInt32 = 0
    public var packetsToPhone: UInt32 = 0
    /// RFC 3550 cumulative loss and interarrival jitter of what each side sent us.
    public var lostFromBrowser: Int32 = 0
    public var lostFromPhone: Int32 = 0
    public var jitterFromBrowserMilliseconds = 0.0
    public var jitterFromPhoneMilliseconds = 0.0
    public var concealedSamplesToPhone = 0
    public var concealedSamplesToBrowser = 0
    public var rtcpFromBrowser = 0
    public var rtcpFromPhone = 0
    public var rtcpToBrowser = 0
    public var rtcpToPhone = 0
    public var droppedUnauthenticated = 0
    public var droppedUndecryptable = 0
    public var droppedForeignPhonePackets = 0
    public var phoneTarget: String?
    /// The phone leg's SDES suite when it runs SRTP (RFC 4568), else nil.
    public var phoneSRTP: String?
    public var ended: String?
}
