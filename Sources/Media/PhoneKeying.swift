import SDP
import SecureMedia

/// Whether the phone leg runs SRTP keyed in the SDP (SDES, RFC 4568), per trunk.
public enum PhoneEncryption: String, Sendable {
    /// Plain RTP; an RTP/SAVP offer is refused.
    case off
    /// Our offers carry keys over RTP/AVP ("best effort", as most SBCs
    /// offer it) and a plain answer is taken; a key offered to us is used.
    case optional
    /// RTP/SAVP only: a description without a usable key fails the call.
    case required
}

/// The phone leg's SDES state: the keys we offered, the pair in use, and
/// where each description of ours must carry our key. Pure: the media
/// session keeps one behind a lock and installs `PhoneSRTP` from it.
struct PhoneKeying {
    var encryption = PhoneEncryption.off
    /// Our a=crypto lines in an offer of ours, awaiting the answer.
    private(set) var offered: [SDPCrypto] = []
    /// Our line in use (its tag the one agreed), and whether m= says RTP/SAVP.
    private(set) var ours: SDPCrypto?
    private(set) var theirs: SDPCrypto?
    private(set) var secure = false

    /// The suites we offer, most compatible first (every SDES device has AES-CM with HMAC-SHA1-80).
    static let offeredSuites: [SDPCrypto.Suite] = [.aesCM128HMACSHA1_80, .aeadAES128GCM]

    var isActive: Bool { ours != nil }

    /// Our first offer's lines (none when off), remembered for the answer.
    mutating func makeOffer() -> (crypto: [SDPCrypto], secure: Bool) {
        guard encryption != .off else {
            offered = []
            return ([], false)
        }
        offered = Self.offeredSuites.enumerated().map { index, suite in
            SDPCrypto(tag: UInt32(index + 1), suite: suite, keyAndSalt: Self.randomKey(suite))
        }
        return (offered, encryption == .required)
    }

    /// The far end's answer to our offer: the keys to install, or nil for
    /// plain RTP; throws when the answer breaks our policy.
    mutating func acceptAnswer(_ answer: PlainAudioDescription) throws(MediaError) -> PhoneSRTP.Keys? {
        if let line = answer.crypto.first(where: { $0.isUsable }),
           let mine = offered.first(where: { $0.tag == line.tag && $0.suiteName == line.suiteName }) {
            ours = mine
            theirs = line
            secure = answer.secure || encryption == .required
            offered = []
            return PhoneSRTP.Keys(suite: line.suite!, ours: mine.keyAndSalt, theirs: line.keyAndSalt)
        }
        if answer.secure || encryption == .required {
            throw MediaError.negotiation("the far end's answer has no SRTP key we offered (media_encryption \(encryption.rawValue))")
        }
        offered = []
        return nil
    }

    /// A far end's offer (its first, or a new far end's): the keys to
    /// install (ours made for its suite, its tag), or nil for plain RTP.
    mutating func acceptOffer(_ offer: PlainAudioDescription) throws(MediaError) -> PhoneSRTP.Keys? {
        if encryption != .off,
           let line = offer.crypto.first(where: { $0.isUsable && Self.offeredSuites.contains($0.suite!) }) {
            let suite = line.suite!
            // A far end that already has our key (a re-offer) keeps it.
            let key = ours?.suiteName == line.suiteName ? ours!.keyAndSalt : Self.randomKey(suite)
            ours = SDPCrypto(tag: line.tag, suite: suite, keyAndSalt: key)
            theirs = line
            secure = offer.secure
            return PhoneSRTP.Keys(suite: suite, ours: key, theirs: line.keyAndSalt)
        }
        if offer.secure {
            throw MediaError.negotiation(encryption == .off
                ? "the far end offers SRTP (RTP/SAVP) and media_encryption is off"
                : "the far end's SRTP offer has no key in a suite we take (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)")
        }
        if encryption == .required || ours != nil {
            throw MediaError.negotiation("the far end offers plain RTP and the call's media is encrypted")
        }
        return nil
    }

    /// The answer to a re-offer of ours (hold, resume, a transfer's new far
    /// end): its key for our suite when it sent a new one; nil keeps the keys.
    mutating func acceptReanswer(_ answer: PlainAudioDescription) -> PhoneSRTP.Keys? {
        guard let ours, let line = answer.crypto.first(where: { $0.isUsable && $0.suiteName == ours.suiteName }),
              line.keyAndSalt != theirs?.keyAndSalt else { return nil }
        theirs = line
        return PhoneSRTP.Keys(suite: line.suite!, ours: ours.keyAndSalt, theirs: line.keyAndSalt)
    }

    /// Plain RTP from now on (a transfer's new far end without SRTP).
    mutating func reset() {
        offered = []
        ours = nil
        theirs = nil
        secure = false
    }

    /// Our line as a description of ours should carry it: the agreed one
    /// once SRTP runs (re-offers, answers); nil before.
    var current: (crypto: SDPCrypto, secure: Bool)? { ours.map { ($0, secure) } }

    static func randomKey(_ suite: SDPCrypto.Suite) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<suite.keyingLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// SRTP on the phone leg: ours protects what we send, theirs unprotects
/// what the far end sends (RFC 4568: each side sends with its own key).
final class PhoneSRTP {
    struct Keys: Equatable {
        var suite: SDPCrypto.Suite
        var ours: [UInt8]
        var theirs: [UInt8]
    }

    let outbound: SRTPSession
    let inbound: SRTPSession
    let keys: Keys

    /// - Parameter current: the sessions in use; when our key stays the
    ///   same (only the far end re-keyed), its outbound session goes on, so
    ///   our packet index (and with it the keystream) never starts over.
    init(_ keys: Keys, replacing current: PhoneSRTP? = nil) throws {
        let profile: SRTPProfile = keys.suite == .aeadAES128GCM ? .aeadAes128Gcm : .aes128CmSha1_80
        guard keys.suite != .aesCM128HMACSHA1_32 else {
            throw MediaError.negotiation("AES_CM_128_HMAC_SHA1_32 is not offered")
        }
        if let current, current.keys.suite == keys.suite, current.keys.ours == keys.ours {
            outbound = current.outbound
        } else {
            outbound = try SRTPSession(profile: profile, masterKey: keys.ours, outbound: true)
        }
        inbound = try SRTPSession(profile: profile, masterKey: keys.theirs, outbound: false)
        self.keys = keys
    }
}
