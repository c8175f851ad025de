// The SIP layer's own timer heap: order, cancellation from anywhere in the
// heap, timers scheduled while others fire, and that NIO holds one task for
// the lot (the point of it: NIO cancels by linear search).
import NIOCore
import NIOEmbedded
import Testing
@testable import SIP

@Suite struct TimerQueueTests {
    @Test func firesInDeadlineOrderThenSchedulingOrder() {
        let loop = EmbeddedEventLoop()
        let queue = TimerQueue(eventLoop: loop)
        var fired: [String] = []
        for (name, ms) in [("c", 300), ("a", 100), ("b1", 200), ("b2", 200), ("d", 400)] {
            _ = queue.schedule(in: .milliseconds(Int64(ms))) { fired.append(name) }
        }
        loop.advanceTime(by: .milliseconds(99))
        #expect(fired.isEmpty)
        loop.advanceTime(by: .milliseconds(201))
        #expect(fired == ["a", "b1", "b2", "c"])
        loop.advanceTime(by: .milliseconds(100))
        #expect(fired == ["a", "b1", "b2", "c", "d"])
        #expect(queue.count == 0)
    }

    @Test func cancelledTimersNeverFireWhereverTheyAreInTheHeap() {
        let loop = EmbeddedEventLoop()
        let queue = TimerQueue(eventLoop: loop)
        var fired: [Int] = []
        var handles: [SIPTimer] = []
        // A shuffled set of deadlines, every third cancelled (the root, leaves, the middle).
        let deadlines = (1...60).map { ($0 * 37) % 61 }
        for deadline in deadlines {
            handles.append(queue.schedule(in: .milliseconds(Int64(deadline))) { fired.append(deadline) })
        }
        for (index, handle) in handles.enumerated() where index % 3 == 0 { handle.cancel() }
        handles[0].cancel()  // twice is harmless
        #expect(queue.count == 40)
        loop.advanceTime(by: .seconds(1))
        let expected = deadlines.enumerated().filter { $0.offset % 3 != 0 }.map(\.element).sorted()
        #expect(fired == expected)
        handles[1].cancel()  // after it fired: nothing happens
        #expect(queue.count == 0)
    }

    @Test func aTimerMayScheduleAndCancelOthersWhileFiring() {
        let loop = EmbeddedEventLoop()
        let queue = TimerQueue(eventLoop: loop)
        var fired: [String] = []
        var doomed: SIPTimer?
        _ = queue.schedule(in: .milliseconds(50)) {
            fired.append("first")
            doomed?.cancel()
            // Due at once: it fires in the same wake-up, after this one.
            _ = queue.schedule(in: .zero) { fired.append("now") }
            _ = queue.schedule(in: .milliseconds(10)) { fired.append("later") }
        }
        // Due at the same moment but after the first: cancelled before its turn.
        doomed = queue.schedule(in: .milliseconds(50)) { fired.append("doomed") }
        loop.advanceTime(by: .milliseconds(50))
        #expect(fired == ["first", "now"])
        loop.advanceTime(by: .milliseconds(10))
        #expect(fired == ["first", "now", "later"])
    }

    @Test func anEarlierTimerRearmsTheWakeUp() {
        let loop = EmbeddedEventLoop()
        let queue = TimerQueue(eventLoop: loop)
        var fired: [String] = []
        _ = queue.schedule(in: .seconds(32)) { fired.append("timer B") }
        _ = queue.schedule(in: .milliseconds(500)) { fired.append("timer A") }
        loop.advanceTime(by: .milliseconds(500))
        #expect(fired == ["timer A"])
        loop.advanceTime(by: .seconds(32))
        #expect(fired == ["timer A", "timer B"])
    }

    @Test func thousandsOfTimersCancelledInAnyOrderLeaveNothingBehind() {
        let loop = EmbeddedEventLoop()
        let queue = TimerQueue(eventLoop: loop)
        var count = 0
        var generator = SystemRandomNumberGenerator()
        var handles = (0..<5000).map { _ in
            queue.schedule(in: .milliseconds(Int64.random(in: 1...32000, using: &generator))) { count += 1 }
        }
        handles.shuffle(using: &generator)
        for handle in handles.prefix(4000) { handle.cancel() }
        #expect(queue.count == 1000)
        loop.advanceTime(by: .seconds(33))
        #expect(count == 1000)
        #expect(queue.count == 0)
    }
}
