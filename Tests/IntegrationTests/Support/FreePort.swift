import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback ports for test peers. The kernel picks a port that is free now
/// (bind to port 0, read it back, close); nothing holds it afterwards, so a
/// test binds it promptly. Random ports let test processes run side by side.

/// A port on 127.0.0.1 that is free right now for UDP (`udp: true`) or TCP.
func freePort(udp: Bool) -> Int {
    for _ in 0..<50 {
        if let port = try? bindAndClose(udp: udp, port: 0) { return port }
    }
    preconditionFailure("no free \(udp ? "UDP" : "TCP") port on 127.0.0.1: sockets are not working")
}

/// A port on 127.0.0.1 that is free right now for both UDP and TCP, as a SIP
/// listener takes both with one number.
func freeUDPAndTCPPort() throws -> Int {
    for _ in 0..<50 {
        guard let port = try? bindAndClose(udp: false, port: 0) else { continue }
        if (try? bindAndClose(udp: true, port: port)) != nil { return port }
    }
    throw FreePortError.noneFree
}

/// Whether something has bound `port` on 127.0.0.1 (UDP or TCP): binding it
/// ourselves fails with EADDRINUSE. Unlike connecting, this probe is never
/// seen by the process that holds the port. Meant for a port just taken from
/// `freePort`: for TCP, connections in TIME_WAIT also count as bound.
func isPortBound(_ port: Int, udp: Bool) -> Bool {
    do {
        _ = try bindAndClose(udp: udp, port: port)
        return false
    } catch FreePortError.bindFailed(let code) {
        return code == EADDRINUSE
    } catch {
        return false
    }
}

/// Whether a TCP socket listens on `port` (any local address), from the
/// kernel's table in /proc/net/tcp and tcp6: bound is not enough for TCP,
/// as connections are refused until listen(). Where there is no /proc, it
/// falls back to `isPortBound`.
func isTCPListening(_ port: Int) -> Bool {
    let tables = ["/proc/net/tcp", "/proc/net/tcp6"].compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
    guard !tables.isEmpty else { return isPortBound(port, udp: false) }
    let portHex = String(format: ":%04X", port)
    for table in tables {
        for line in table.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st ...; st 0A is LISTEN.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 3, fields[1].hasSuffix(portHex), fields[3] == "0A" { return true }
        }
    }
    return false
}

enum FreePortError: Error, CustomStringConvertible {
    case noneFree
    case socketFailed(Int32)
    case bindFailed(Int32)

    var description: String {
        switch self {
        case .noneFree: "no port on 127.0.0.1 was free for both UDP and TCP"
        case .socketFailed(let code): "socket() failed: \(String(cString: strerror(code)))"
        case .bindFailed(let code): "bind() failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Binds a UDP or TCP socket to 127.0.0.1:`port` (0: any), closes it, and
/// returns the port it got.
private func bindAndClose(udp: Bool, port: Int) throws -> Int {
    #if canImport(Glibc)
    let type = Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
    #else
    let type = udp ? SOCK_DGRAM : SOCK_STREAM
    #endif
    let fd = socket(AF_INET, type, 0)
    guard fd >= 0 else { throw FreePortError.socketFailed(errno) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw FreePortError.bindFailed(errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw FreePortError.bindFailed(errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}
