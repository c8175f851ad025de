import NIOCore

/// The SIP layer's timers (RFC 3261 §17's A–K, 2xx retransmission, session
/// timers, ring timeouts) in one binary heap per event loop, behind a
/// single NIO scheduled task for the earliest deadline.
///
/// Why not one `scheduleTask` per timer: a busy gateway holds tens of
/// thousands of pending SIP timers (Timers B, D, F, J, K and H each wait
/// up to 64·T1 = 32 s, at hundreds of calls a second), and NIO cancels a
/// scheduled task by a linear search of its queue. Most SIP timers are
/// cancelled (a response stops Timer A and B), so that search was the
/// biggest single cost of a relayed call at 800 calls/s. Here each timer
/// knows its place in the heap: scheduling and cancelling are O(log n).
///
/// Confined to `eventLoop`; time is the loop's own (`EventLoop.now`), so
/// an embedded loop's `advanceTime` drives it in tests.
final class TimerQueue: @unchecked Sendable {
    final class Entry {
        let deadline: NIODeadline
        /// Ties on the deadline fire in the order they were scheduled.
        let sequence: UInt64
        var body: (() -> Void)?
        /// Where the entry is in `heap`; -1 once it fired or was cancelled.
        var index: Int

        init(deadline: NIODeadline, sequence: UInt64, body: @escaping () -> Void, index: Int) {
            self.deadline = deadline
            self.sequence = sequence
            self.body = body
            self.index = index
        }

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    let eventLoop: any EventLoop
    private var heap: [Entry] = []
    private var sequence: UInt64 = 0
    /// The NIO task that wakes the queue, and for when.
    private var armed: (deadline: NIODeadline, task: Scheduled<Void>)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var count: Int { heap.count }

    func schedule(in delay: TimeAmount, _ body: @escaping () -> Void) -> SIPTimer {
        eventLoop.preconditionInEventLoop()
        sequence &+= 1
        let entry = Entry(deadline: eventLoop.now + delay, sequence: sequence, body: body, index: heap.count)
        heap.append(entry)
        siftUp(entry.index)
        arm()
        return SIPTimer(entry: entry, queue: self)
    }

    func cancel(_ entry: Entry) {
        eventLoop.preconditionInEventLoop()
        guard entry.index >= 0 else { return }
        remove(at: entry.index)
        // The armed wake-up may now be early: it finds nothing due and re-arms.
    }

    // MARK: firing

    private func arm() {
        guard let first = heap.first else { return }
        if let armed, armed.deadline <= first.deadline { return }
        armed?.task.cancel()
        let deadline = first.deadline
        let box = UncheckedBox(self)
        armed = (deadline, eventLoop.scheduleTask(deadline: deadline) { box.value.fire(upTo: deadline) })
    }

    /// Runs every entry due by `deadline` (the wake-up's own, not the wall
    /// clock's: an embedded loop's virtual time stays consistent), then
    /// arms for the next one.
    private func fire(upTo deadline: NIODeadline) {
        armed = nil
        let now = max(deadline, eventLoop.now)
        while let first = heap.first, first.deadline <= now {
            let body = first.body
            remove(at: 0)
            body?()
        }
        arm()
    }

    // MARK: the heap

    private func remove(at index: Int) {
        let entry = heap[index]
        let last = heap.removeLast()
        entry.index = -1
        entry.body = nil
        guard index < heap.count else { return }
        heap[index] = last
        last.index = index
        siftDown(index)
        siftUp(last.index)
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right].precedes(heap[left]) ? right : left
            guard heap[smaller].precedes(heap[parent]) else { return }
            swapAt(parent, smaller)
            parent = smaller
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].index = a
        heap[b].index = b
    }
}

/// A pending SIP timer; `cancel()` on its event loop stops it (cancelling
/// one that already fired does nothing).
public struct SIPTimer {
    let entry: TimerQueue.Entry
    let queue: TimerQueue

    public func cancel() { queue.cancel(entry) }
}
