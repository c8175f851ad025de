import Foundation
import NIOConcurrencyHelpers
import SIP

/// A UDP socket posing as the trunk for the latency figure: it notes when
/// each INVITE arrives (on the same monotonic clock as the client) and
/// answers 486, so the call ends at once and the next one can start. ACKs
/// and anything else are read and dropped.
final class BusyTrunk: Sendable {
    private let fd: Int32
    private let received = NIOLockedValueBox([Double]())
    private let running = NIOLockedValueBox(true)

    var arrivals: [Double] { received.withLockedValue { $0 } }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw BenchError("bind 127.0.0.1:\(port): errno \(errno)")
        }
        // Wake up now and then to notice stop().
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in serve() }.start()
    }

    func stop() {
        running.withLockedValue { $0 = false }
        Thread.sleep(forTimeInterval: 0.3)
        close(fd)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while running.withLockedValue({ $0 }) {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &fromLength)
                    }
                }
            }
            guard count > 0 else { continue }
            let now = BenchRun.monotonicSeconds()
            guard case .request(let request)? = try? SIPParser.parse(Array(buffer[0..<count])),
                  request.method == .invite else { continue }
            received.withLockedValue { $0.append(now) }
            var headers = SIPHeaders()
            for name in ["Via", "From", "Call-ID", "CSeq"] {
                for value in request.headers.all(name) { headers.add(name, value) }
            }
            headers.add("To", (request.headers["To"] ?? "") + ";tag=busy\(received.withLockedValue { $0.count })")
            let reply = SIPResponse(statusCode: 486, headers: headers).bytes
            _ = reply.withUnsafeBytes { bytes in
                withUnsafePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, fromLength)
                    }
                }
            }
        }
    }
}
