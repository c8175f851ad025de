import XCTest
import RTP
#if canImport(Glibc)
import Glibc
#endif

// How allocations are counted: the Swift runtime routes swift_allocObject
// (every class instance, array and string buffer, closure context and
// existential box) through the writable function pointer
// `_swift_allocObject`, a hook meant for instrumentation. The test swaps in
// a counter for the calling thread for the duration of a closure. Raw
// malloc calls bypass it, but the RTP target makes none; Swift values are
// what could allocate here.
//
// Swift 6.3 on Linux: the first call through a replaced hook sets the sticky
// flag `_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly`,
// after which every retain goes through `_swift_retain_adapterImpl`, which
// mishandles small-string bridge objects and faults later in an unrelated
// place (seen here in XCTest's suite name getter). So the window is kept
// short and free of strings, and afterwards the hook is restored and the flag cleared,
// putting the runtime back on its normal path.

private typealias AllocObject = @convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?

// Only the measured thread counts, so a plain variable suffices.
nonisolated(unsafe) private var allocationCount = 0
nonisolated(unsafe) private var originalAllocObject: AllocObject?

#if canImport(Glibc)
nonisolated(unsafe) private var measuredThread = pthread_self()

private let countingAllocObject: AllocObject = { metadata, size, alignmentMask in
    if pthread_equal(pthread_self(), measuredThread) != 0 {
        allocationCount += 1
    }
    return originalAllocObject!(metadata, size, alignmentMask)
}
#endif

/// Heap objects the Swift runtime allocated on this thread during `body`.
/// Linux only (the platform we serve on); skips elsewhere or if the hook
/// is missing from the runtime.
private func countAllocations(_ body: () -> Void) throws -> Int {
    #if canImport(Glibc)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_swift_allocObject") else {
        throw XCTSkip("this Swift runtime has no _swift_allocObject hook")
    }
    let hook = symbol.assumingMemoryBound(to: AllocObject.self)
    measuredThread = pthread_self()
    allocationCount = 0
    originalAllocObject = hook.pointee
    hook.pointee = countingAllocObject
    body()
    hook.pointee = originalAllocObject!
    if let flag = dlsym(UnsafeMutableRawPointer(bitPattern: 0),
                        "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly") {
        flag.assumingMemoryBound(to: Bool.self).pointee = false
    }
    return allocationCount
    #else
    throw XCTSkip("allocation counting is implemented for Linux only")
    #endif
}

final class AllocationTests: XCTestCase {
    func testParsingPlainPCMUPacketDoesNotAllocate() throws {
        // 12-byte header + 20 ms of PCMU at 8 kHz = 172 bytes.
        let packet = serializeRTP(RTPHeader(payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 9),
                                  payload: [UInt8](repeating: 0xFF, count: 160))
        XCTAssertEqual(packet.count, 172)
        let withSources = serializeRTP(
            RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 9, csrcs: [1, 2, 3],
                      headerExtension: RTPHeaderExtension(profile: 0xBEDE, length: 2)),
            payload: [UInt8](repeating: 0x11, count: 80))
        var output = [UInt8](repeating: 0, count: 1500)

        var checksum = 0
        let count = try packet.withUnsafeBytes { plain in
            try withSources.withUnsafeBytes { rich in
                try output.withUnsafeMutableBytes { out in
                    try countAllocations {
                        for i in 0..<1000 {
                            // The hot path: parse, rewrite for the other leg, write a header.
                            if let (header, payload) = try? RTPHeader.parse(plain) {
                                checksum &+= payload.count &+ Int(header.sequenceNumber)
                                checksum &+= header.write(to: out)
                            }
                            if let (header, payload) = try? RTPHeader.parse(rich) {
                                checksum &+= payload.count &+ header.csrcs.count
                            }
                            try? RTPHeader.rewrite(out, sequenceNumber: UInt16(truncatingIfNeeded: i),
                                                   timestamp: UInt32(i) * 160, ssrc: 1, payloadType: 0,
                                                   marker: false)
                            // Bad packets are dropped without allocating either.
                            _ = try? RTPHeader.parse(UnsafeRawBufferPointer(rebasing: plain[0..<5]))
                        }
                    }
                }
            }
        }
        XCTAssertEqual(checksum, 1000 * (160 + 1 + 12 + 80 + 3))
        XCTAssertEqual(count, 0, "parsing allocated \(count) heap objects in 1000 rounds")
    }

    func testStatisticsDoNotAllocate() throws {
        var stats = RTPReceptionStatistics()
        let count = try countAllocations {
            for i in 0..<1000 {
                stats.record(sequenceNumber: UInt16(truncatingIfNeeded: i), timestamp: UInt32(i) * 160,
                             arrival: UInt32(i) * 160 &+ UInt32(i % 3))
            }
        }
        XCTAssertEqual(count, 0)
        XCTAssertEqual(stats.received, 999)
    }

    /// The counter does see allocations, so a zero above means something.
    func testCounterSeesAllocations() throws {
        final class Box { var value = 0 }
        var boxes: [Box] = []
        let count = try countAllocations {
            for _ in 0..<10 { boxes.append(Box()) }
        }
        XCTAssertGreaterThanOrEqual(count, 10)
        XCTAssertEqual(boxes.count, 10)
    }
}
