import Foundation
import Logging
import Media
import NIOCore
import Records

/// One call's record: written when the call starts, updated when it is
/// routed, answered and ended (docs/records.md). Every method only queues
/// the change with the store, so none of them waits for a database.
/// Confined to the gateway's loop, like the call that owns it.
final class CallRecorder {
    private let store: (any CallRecordStore)?
    private let recordID = UUID()
    private var answered = false
    private var ended = false

    init(store: (any CallRecordStore)?, callID: String, direction: CallDirection, from: String, to: String,
         user: String?, trunk: String?, sipCallID: String? = nil) {
        self.store = store
        store?.callStarted(CallRecord(recordID: recordID, callID: callID, sipCallID: sipCallID, direction: direction,
                                      from: from, to: to, user: user, trunk: trunk))
    }

    func routed(to: String?, trunk: String?, sipCallID: String?) {
        store?.callRouted(recordID, to: to, trunk: trunk, sipCallID: sipCallID)
    }

    /// The answer; the codecs come from the media session, which is asked
    /// off the loop, so the moment is taken when the answer happened.
    func answered(media: MediaSession?, on loop: any EventLoop) {
        guard !answered, !ended else { return }
        answered = true
        let at = Date()
        guard let store else { return }
        guard let media else { return store.callAnswered(recordID, at: at, codecs: CallCodecs()) }
        let recordID = recordID
        Task {
            let stats = try? await media.statistics()
            store.callAnswered(recordID, at: at, codecs: CallCodecs(browser: stats?.browserCodec, phone: stats?.phoneCodec))
        }
    }

    /// The end, once; `media` is the session's last statistics, if it had one.
    func ended(status: Int, reason: String, media: MediaStatistics?) {
        guard !ended else { return }
        ended = true
        var stats = CallStats()
        if let media {
            stats.browser = LegStats(packetsSent: Int(media.packetsToBrowser), packetsReceived: Int(media.packetsFromBrowser),
                                     packetsLost: Int(media.lostFromBrowser), jitterMs: media.jitterFromBrowserMilliseconds)
            stats.phone = LegStats(packetsSent: Int(media.packetsToPhone), packetsReceived: Int(media.packetsFromPhone),
                                   packetsLost: Int(media.lostFromPhone), jitterMs: media.jitterFromPhoneMilliseconds)
        }
        store?.callEnded(recordID, at: Date(), status: status, reason: reason, stats: stats)
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
