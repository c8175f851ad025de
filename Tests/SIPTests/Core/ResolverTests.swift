// Names are looked up off the SIP loop (SIPResolver): a dialog whose route
// names a host sends its BYE there once the lookup is done, and the loop
// keeps serving other requests while the lookup blocks.
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPTestSupport
import Testing
@testable import SIP

@Suite struct ResolverTests {
    @Test func literalsResolveAtOnceAndNamesOnThePool() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let threads = NIOLockedValueBox<[Bool]>([])
        let resolver = SIPResolver(lookup: { host, port in
            threads.withLockedValue { $0.append(loop.inEventLoop) }
            #expect(host == "trunk.test")
            return try SocketAddress(ipAddress: "192.0.2.7", port: port)
        })
        let literal = try #require(SIPResolver.literal(try SIPURI.parse("sip:10.0.0.1;transport=tcp"),
                                                       defaultTransport: .udp))
        #expect(literal.transport == .tcp && literal.address.port == 5060)
        #expect(SIPResolver.literal(try SIPURI.parse("sips:trunk.test"), defaultTransport: .udp) == nil)
        let named = try await resolver.resolve(try SIPURI.parse("sips:trunk.test"), defaultTransport: .udp, on: loop).get()
        #expect(named.transport == .tls && named.address.port == 5061 && named.address.ipAddress == "192.0.2.7")
        #expect(named.serverName == "trunk.test")
        // A second lookup within the cache time is not made again.
        _ = try await resolver.resolve(host: "trunk.test", port: 5061, transport: .tls, on: loop).get()
        #expect(threads.withLockedValue { $0 } == [false])
    }

    @Test func aFailedLookupIsUnresolvable() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        struct NoSuchHost: Error {}
        let resolver = SIPResolver(lookup: { _, _ in throw NoSuchHost() })
        await #expect(throws: SIPTransportError.self) {
            try await resolver.resolve(host: "nowhere.test", port: 5060, transport: .udp, on: group.next()).get()
        }
    }

    @Test func oneLookupPerNameAtATimeAndFailuresAreRemembered() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let release = DispatchSemaphore(value: 0)
        let lookups = NIOLockedValueBox<[String]>([])
        struct NoSuchHost: Error {}
        let resolver = SIPResolver(lookup: { host, port in
            lookups.withLockedValue { $0.append(host) }
            if host == "gone.test" { throw NoSuchHost() }
            release.wait()
            return try SocketAddress(ipAddress: "192.0.2.8", port: port)
        })
        let first = resolver.resolve(host: "slow.test", port: 5060, transport: .udp, on: loop)
        let second = resolver.resolve(host: "SLOW.test", port: 5060, transport: .udp, on: loop)
        release.signal()
        #expect(try await first.get().address.ipAddress == "192.0.2.8")
        #expect(try await second.get().address.ipAddress == "192.0.2.8")
        for _ in 0..<2 {
            await #expect(throws: SIPTransportError.self) {
                try await resolver.resolve(host: "gone.test", port: 5060, transport: .udp, on: loop).get()
            }
        }
        #expect(lookups.withLockedValue { $0 } == ["slow.test", "gone.test"], "one lookup each")
    }

    @Test func aRouteByNameIsLookedUpWithoutBlockingTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let release = DispatchSemaphore(value: 0)
        let resolver = SIPResolver(lookup: { host, port in
            release.wait()  // a slow DNS server
            return try SocketAddress(ipAddress: "127.0.0.9", port: port)
        })
        let transport = RecordingTransport(loop: loop)
        let userAgent = SIPUserAgent(transport: transport, configuration: .init(publicAddress: "127.0.0.1"),
                                     logger: Logger(label: "resolver-test"), resolver: resolver)
        let peer = SIPEndpoint(transport: .udp, address: try SocketAddress(ipAddress: "127.0.0.1", port: 5070))
        var script = PeerDialogScript()
        let invite = script.request("INVITE", cseq: 1, branch: "inv1", body: PeerDialogScript.sdp)
            .replacingOccurrences(of: "Max-Forwards: 70\n", with: "Max-Forwards: 70\nRecord-Route: <sip:proxy.test:5090;lr>\n")
        let held = DialogHolder()
        let tag = try await loop.submit {
            var incoming: IncomingInvite?
            userAgent.onInvite = { incoming = $0 }
            transport.deliver(invite, from: peer)
            let dialog = try #require(incoming?.answer(body: Array("v=0\r\n".utf8)))
            held.dialog = dialog
            return dialog.id.localTag
        }.get()
        script.ourTag = tag
        let (ack, options) = (script.request("ACK", cseq: 1, branch: "ack1"),
                              PeerDialogScript(callID: "another-call").request("OPTIONS", cseq: 1, branch: "opt1"))
        try await loop.submit {
            transport.deliver(ack, from: peer)
            _ = transport.take()
            held.dialog?.bye()
            // The lookup of proxy.test blocks: nothing is sent yet, and the loop goes on.
            #expect(transport.take().isEmpty)
        }.get()
        try await loop.submit { transport.deliver(options, from: peer) }.get()
        #expect(try await loop.submit { transport.take().responses(200).count }.get() == 1)
        release.signal()
        var sent: [(message: SIPMessage, to: SIPEndpoint)] = []
        for _ in 0..<200 where sent.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            sent = try await loop.submit { transport.takeAddressed() }.get()
        }
        let bye = try #require(sent.first)
        #expect(bye.message.requests(.bye).count == 1)
        #expect(bye.to.address.ipAddress == "127.0.0.9" && bye.to.address.port == 5090)
    }
}

/// The dialog, kept across hops onto its loop (only touched there).
private final class DialogHolder: @unchecked Sendable {
    var dialog: Dialog?
}

private extension SIPMessage {
    func requests(_ method: SIPMethod) -> [SIPRequest] { [self].requests(method) }
}
