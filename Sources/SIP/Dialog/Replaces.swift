/// An RFC 3891 Replaces header: the dialog a new INVITE takes over
/// (attended transfer, call pickup). The tags are seen from the dialog's
/// other end, the INVITE's recipient: `toTag` is our local tag, `fromTag`
/// the peer's (§3).
public struct Replaces: Sendable, Equatable {
    public var callID: String
    public var toTag: String
    public var fromTag: String
    /// `early-only`: only a dialog not yet answered may be replaced.
    public var earlyOnly: Bool

    public init(callID: String, toTag: String, fromTag: String, earlyOnly: Bool = false) {
        self.callID = callID
        self.toTag = toTag
        self.fromTag = fromTag
        self.earlyOnly = earlyOnly
    }

    /// `callid;to-tag=x;from-tag=y[;early-only]`; nil unless both tags are there.
    public init?(parsing value: String) {
        let parts = value.split(separator: ";").map { Substring($0).sipTrimmed }
        guard let first = parts.first, !first.isEmpty else { return nil }
        var toTag: String?, fromTag: String?, earlyOnly = false
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { Substring($0).sipTrimmed }
            switch pair.first?.lowercased() {
            case "to-tag" where pair.count == 2: toTag = pair[1]
            case "from-tag" where pair.count == 2: fromTag = pair[1]
            case "early-only": earlyOnly = true
            default: break
            }
        }
        guard let toTag, let fromTag, !toTag.isEmpty, !fromTag.isEmpty else { return nil }
        self.init(callID: first, toTag: toTag, fromTag: fromTag, earlyOnly: earlyOnly)
    }

    /// Our dialog this names.
    var dialogID: Dialog.ID { Dialog.ID(callID: callID, localTag: toTag, remoteTag: fromTag) }
}
