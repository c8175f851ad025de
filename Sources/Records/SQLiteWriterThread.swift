import Foundation

/// The one thread that owns the SQLite connection. Callers append jobs under
/// a lock held only for the append, so the gateway's event loop never waits
/// for the disk or for another process's lock; the thread takes everything
/// queued at once and applies it in order.
final class SQLiteWriterThread: @unchecked Sendable {
    enum Job {
        case write(RecordWrite)
        /// Runs after every earlier job; reads, flushes and maintenance.
        case run(@Sendable (SQLiteRecordWriter) -> Void)
        /// Applies what came before, closes the connection, ends the thread.
        case stop(@Sendable () -> Void)
    }

    enum Enqueued { case accepted, stopped, full }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [Job] = []
    private var stopping = false
    // Touched only on the thread.
    private let writer: SQLiteRecordWriter

    init(writer: SQLiteRecordWriter, name: String) {
        self.writer = writer
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Never waits for the database: the lock guards only the array.
    func enqueue(_ job: Job) -> Enqueued {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return .stopped }
        if case .write = job, jobs.count >= maximumQueuedWrites { return .full }
        if case .stop = job { stopping = true }
        jobs.append(job)
        // The thread waits only on an empty queue: one wake-up is enough.
        if jobs.count == 1 { condition.signal() }
        return .accepted
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()

            // Writes queued back to back go into one transaction: under load
            // that is one commit for many changes instead of one each.
            var writes: [RecordWrite] = []
            for job in taken {
                switch job {
                case .write(let write):
                    writes.append(write)
                case .run(let body):
                    writer.apply(writes)
                    writes.removeAll()
                    body(writer)
                case .stop(let done):
                    writer.apply(writes)
                    writer.close()
                    done()
                    return
                }
            }
            writer.apply(writes)
            // Group commit: under load, let the next changes gather for a
            // moment instead of committing them one by one, which costs the
            // gateway's CPU (the machine's, really) a wake-up and a commit
            // per change. A lone change still goes in at once, since the
            // thread then sleeps on an empty queue, not here.
            if !writes.isEmpty { usleep(Self.gatherMicroseconds) }
        }
    }

    /// At most this long between commits under load; a start row is still in
    /// the database within a few milliseconds of the call.
    static let gatherMicroseconds: UInt32 = 2000
}
