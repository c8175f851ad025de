import Config
import Foundation
import Logging
import Media
import Records

/// One call's record: written when the call starts, updated when it is
/// routed, answered and ended (docs/records.md). Every method only queues
/// the change with the store, so none of them waits for a database.
/// Confined to the gateway's loop, like the call that owns it.
final class CallRecorder {
    private let store: (any CallRecordStore)?
    private let recordID = UUID()
    private var wasAnswered = false
    private var wasEnded = false

    init(store: (any CallRecordStore)?, instance: String, callID: String, direction: CallDirection, from: String,
         to: String, user: String?, trunk: String?, sipCallID: String? = nil) {
        self.store = store
        store?.callStarted(CallRecord(recordID: recordID, callID: callID, sipCallID: sipCallID, direction: direction,
                                      from: from, to: to, user: user, trunk: trunk, instance: instance))
    }

    /// What routing learned: kept here and written once, with the answer or
    /// the end, so a call costs the database one statement fewer per step.
    func routed(to: String?, trunk: String?, sipCallID: String?) {
        routing.to = to ?? routing.to
        routing.trunk = trunk ?? routing.trunk
        routing.sipCallID = sipCallID ?? routing.sipCallID
        routing.pending = routing.pending || to != nil || trunk != nil || sipCallID != nil
    }

    private var routing = (to: String?.none, trunk: String?.none, sipCallID: String?.none, pending: false)

    private func writeRouting() {
        guard routing.pending else { return }
        routing.pending = false
        store?.callRouted(recordID, to: routing.to, trunk: routing.trunk, sipCallID: routing.sipCallID)
    }

    /// The answer, written at once from the loop (so it always comes before
    /// the end); the codecs are written with the end, when media has run.
    func answered() {
        guard !wasAnswered, !wasEnded else { return }
        wasAnswered = true
        writeRouting()
        store?.callAnswered(recordID, at: Date(), codecs: CallCodecs())
    }

    /// The end, once; `media` is the session's last statistics, if it had one.
    func ended(status: Int, reason: String, media: MediaStatistics?) {
        guard !wasEnded else { return }
        wasEnded = true
        writeRouting()
        var stats = CallStats()
        if let media {
            stats.browser = LegStats(packetsSent: Int(media.packetsToBrowser), packetsReceived: Int(media.packetsFromBrowser),
                                     packetsLost: Int(media.lostFromBrowser), jitterMs: media.jitterFromBrowserMilliseconds)
            stats.phone = LegStats(packetsSent: Int(media.packetsToPhone), packetsReceived: Int(media.packetsFromPhone),
                                   packetsLost: Int(media.lostFromPhone), jitterMs: media.jitterFromPhoneMilliseconds)
        }
        store?.callEnded(recordID, at: Date(), status: status, reason: reason, stats: stats,
                         codecs: CallCodecs(browser: media?.browserCodec, phone: media?.phoneCodec))
    }
}

extension RecordsConfig {
    /// The configured store, not yet opened; nil when records are off.
    public func makeStore(logger: Logger) throws -> (any CallRecordStore)? {
        switch backend {
        case .off: return nil
        case .sqlite(let path): return SQLiteRecordStore(path: path, logger: logger)
        case .postgres(let url): return try PostgresRecordStore(url: url, logger: logger)
        }
    }
}
