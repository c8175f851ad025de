// SIP Digest authentication: published vectors, parsing, server round trips,
// and a mutation pass showing bad header values fail cleanly.
//
// Vectors not printed in an RFC (MD5-sess, SHA-512-256, auth-int, RFC 2069)
// were computed independently with the `openssl dgst` command line tool.
import TestSupport
import Testing
@testable import SIP

/// Namespaced so test names cannot collide with other SIPTests files.
@Suite("SIP Digest authentication") struct DigestTests {}

// MARK: - Hashes

extension DigestTests {
    @Test func hashPrimitivesMatchKnownValues() {
        #expect(DigestHash.md5Hex([UInt8]()) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(DigestHash.sha256Hex("abc".utf8)
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(DigestHash.sha512_256Hex("abc".utf8)
            == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")
        #expect(DigestHash.sha512_256Hex([UInt8]())
            == "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a")
        let mac = DigestHash.hmacSHA256(key: Array("key".utf8),
                                        data: Array("The quick brown fox jumps over the lazy dog".utf8))
        #expect(DigestHash.hex(mac) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        // Empty key and data must not trap on nil pointers.
        #expect(DigestHash.hmacSHA256(key: [], data: []).count == 32)
        let r = DigestHash.randomHex(byteCount: 16)
        #expect(r.count == 32 && r != DigestHash.randomHex(byteCount: 16))
        #expect(DigestHash.randomHex(byteCount: 0).isEmpty)
    }
}

// MARK: - Published examples

/// Pull one parameter back out of a header we produced.
private func param(_ name: String, in header: String) throws -> String? {
    let item = try DigestHeaderLexer.scan(header)[0]
    return item.value(name)
}

extension DigestTests {
    @Test func rfc2617Section3_5Example() throws {
        let challenge = try DigestChallenge(parsing: """
            Digest realm="testrealm@host.com", qop="auth,auth-int", \
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """)
        #expect(challenge.qopOptions == [.auth, .authInt])
        #expect(challenge.algorithm == .md5)
        var client = DigestClient()
        let header = try client.authorization(for: challenge, method: "GET", uri: "/dir/index.html",
                                              username: "Mufasa", password: "Circle Of Life",
                                              cnonce: "0a4f113b")
        #expect(header.hasPrefix("Digest username=\"Mufasa\", realm=\"testrealm@host.com\""))
        #expect(try param("response", in: header) == "6629fae49393a05397450978507c4ef1")
        #expect(try param("qop", in: header) == "auth")
        #expect(try param("nc", in: header) == "00000001")
        #expect(try param("cnonce", in: header) == "0a4f113b")
        #expect(try param("opaque", in: header) == "5ccc069c403ebaf9f0171e9517f40e41")

        // What we send must parse back as credentials with the same fields.
        let creds = try DigestCredentials(parsing: header)
        #expect(creds.username == "Mufasa" && creds.uri == "/dir/index.html")
        #expect(creds.qop == .auth && creds.nonceCount == 1 && creds.algorithm == .md5)
    }
}

private let rfc7616Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
private let rfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
private let rfc7616Opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"

private func rfc7616Response(algorithm: String, qop: String = "auth") throws -> String? {
    let challenge = try DigestChallenge(parsing: """
        Digest realm="http-auth@example.org", qop="\(qop)", algorithm=\(algorithm), \
        nonce="\(rfc7616Nonce)", opaque="\(rfc7616Opaque)"
        """)
    var client = DigestClient()
    let header = try client.authorization(for: challenge, method: "GET", uri: "/dir/index.html",
                                          username: "Mufasa", password: "Circle of Life",
                                          cnonce: rfc7616Cnonce)
    #expect(try param("opaque", in: header) == rfc7616Opaque)
    return try param("response", in: header)
}

extension DigestTests {
    @Test func rfc7616Section3_9_1Examples() throws {
        #expect(try rfc7616Response(algorithm: "MD5") == "8ca523f5e9506fed4657c9700eebdbec")
        #expect(try rfc7616Response(algorithm: "SHA-256")
            == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    }
}

extension DigestTests {
    @Test func sessionAndSha512_256Vectors() throws {
        #expect(try rfc7616Response(algorithm: "MD5-sess") == "e783283f46242139c486a698fec7211d")
        #expect(try rfc7616Response(algorithm: "SHA-512-256")
            == "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0")
    }
}

extension DigestTests {
    @Test func authIntHashesTheBody() throws {
        let challenge = try DigestChallenge(parsing: """
            Digest realm="http-auth@example.org", qop="auth-int", algorithm=SHA-256, nonce="\(rfc7616Nonce)"
            """)
        var client = DigestClient()
        let body = Array("v=0".utf8)
        _ = try client.authorization(for: challenge, method: "INVITE", uri: "sip:bob@example.org",
                                     username: "Mufasa", password: "Circle of Life", body: body,
                                     cnonce: rfc7616Cnonce)
        let second = try client.authorization(for: challenge, method: "INVITE", uri: "sip:bob@example.org",
                                              username: "Mufasa", password: "Circle of Life", body: body,
                                              cnonce: rfc7616Cnonce)
        #expect(try param("qop", in: second) == "auth-int")
        #expect(try param("nc", in: second) == "00000002")
        #expect(try param("response", in: second)
            == "1c3c0b9b50f8820656b8ba1b4ea1942f9c658806bdc621be7556b3dbf37cec38")
    }
}

extension DigestTests {
    @Test func noQopGivesRfc2069Response() throws {
        let challenge = try DigestChallenge(parsing:
            #"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#)
        #expect(challenge.qopOptions.isEmpty)
        var client = DigestClient()
        let header = try client.authorization(for: challenge, method: "GET", uri: "/dir/index.html",
                                              username: "Mufasa", password: "Circle Of Life")
        #expect(try param("response", in: header) == "670fd8c2df070c60b045671b8b24ff02")
        #expect(try param("qop", in: header) == nil)
        #expect(try param("nc", in: header) == nil)
        #expect(try param("cnonce", in: header) == nil)
        #expect(client.nonceCount(realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093") == 0)
    }
}

// MARK: - Client state

extension DigestTests {
    @Test func nonceCountIncrementsPerNonce() throws {
        var challenge = DigestChallenge(realm: "r", nonce: "n1")
        var client = DigestClient()
        func nc(_ c: DigestChallenge) throws -> String? {
            try param("nc", in: try client.authorization(for: c, method: "REGISTER", uri: "sip:r",
                                                         username: "u", password: "p"))
        }
        #expect(try nc(challenge) == "00000001")
        #expect(try nc(challenge) == "00000002")
        #expect(try nc(challenge) == "00000003")
        // A copy carries its own count: value semantics.
        var copy = client
        _ = try copy.authorization(for: challenge, method: "REGISTER", uri: "sip:r", username: "u", password: "p")
        #expect(copy.nonceCount(realm: "r", nonce: "n1") == 4)
        #expect(client.nonceCount(realm: "r", nonce: "n1") == 3)

        challenge.nonce = "n2"
        #expect(try nc(challenge) == "00000001")
        challenge.nonce = "n1"
        #expect(try nc(challenge) == "00000004")

        // Many nonces: memory stays bounded and nothing breaks.
        for i in 0..<100 {
            challenge.nonce = "x\(i)"
            #expect(try nc(challenge) == "00000001")
        }
    }
}

extension DigestTests {
    @Test func clientRefusesHeaderInjection() {
        let challenge = DigestChallenge(realm: "r", nonce: "n")
        var client = DigestClient()
        #expect(throws: DigestError.self) {
            try client.authorization(for: challenge, method: "REGISTER", uri: "sip:r",
                                     username: "u\r\nVia: evil", password: "p")
        }
        #expect(throws: DigestError.self) {
            try client.authorization(for: challenge, method: "REG ISTER", uri: "sip:r", username: "u", password: "p")
        }
        #expect(throws: DigestError.missingParameter("uri")) {
            try client.authorization(for: challenge, method: "REGISTER", uri: "", username: "u", password: "p")
        }
        // Quotes and backslashes are escaped, and parse back unchanged.
        let header = try? client.authorization(for: challenge, method: "REGISTER", uri: "sip:r",
                                               username: #"a"b\c"#, password: "p")
        #expect(header.flatMap { try? DigestCredentials(parsing: $0).username } == #"a"b\c"#)
    }
}

extension DigestTests {
    @Test func chooseStrongestAlgorithm() throws {
        let all = DigestChallenge.parseAll("""
            Basic realm="x", Digest realm="a", nonce="1", algorithm=MD5, qop="auth", \
            Digest realm="a", nonce="2", algorithm=SHA-256, qop="auth", \
            Digest realm="a", nonce="3", algorithm=SHA-3, \
            Digest realm="a", nonce="4", algorithm=SHA-256-sess
            """)
        #expect(all.map(\.nonce) == ["1", "2", "4"])
        #expect(DigestClient.choose(all)?.nonce == "2")
        let withSha512 = all + [DigestChallenge(realm: "a", nonce: "5", algorithm: .sha512_256)]
        #expect(DigestClient.choose(withSha512)?.nonce == "5")
        #expect(DigestClient.choose([]) == nil)
        #expect(DigestClient.choose(Array(all.prefix(1)))?.algorithm == .md5)
    }
}

// MARK: - Challenge parsing

extension DigestTests {
    @Test func challengeParsingIsTolerant() throws {
        let c = try DigestChallenge(parsing: """
            DIGEST   REALM = "a \\"quoted\\" \\\\ realm" ,NONCE=abc123 ,  Stale=TRUE,\
            algorithm="sha-256" , qop=" auth-int , auth ", domain="sip:a.example sip:b.example",\
            charset=UTF-8, futureparam="x,y"
            """)
        #expect(c.realm == #"a "quoted" \ realm"#)
        #expect(c.nonce == "abc123")
        #expect(c.stale)
        #expect(c.algorithm == .sha256)
        #expect(c.qopOptions == [.authInt, .auth])
        #expect(c.domain == ["sip:a.example", "sip:b.example"])
        #expect(c.otherParameters == ["charset": "UTF-8", "futureparam": "x,y"])
        #expect(c.opaque == nil)

        let plain = try DigestChallenge(parsing: #"Digest realm="r", nonce="n", stale=false"#)
        #expect(!plain.stale)
        // No commas at all still parses: a token followed by '=' is a parameter.
        let commaless = try DigestChallenge(parsing: #"Digest realm="r" nonce="n" qop="auth""#)
        #expect(commaless.nonce == "n" && commaless.qopOptions == [.auth])
        // Lenient on duplicates in challenges: the first wins.
        #expect(try DigestChallenge(parsing: #"Digest realm="r", nonce="n", nonce="m""#).nonce == "n")
        for algorithm in DigestAlgorithm.allCases {
            let parsed = try DigestChallenge(parsing: "Digest realm=\"r\", nonce=\"n\", algorithm=\(algorithm.token.uppercased())")
            #expect(parsed.algorithm == algorithm)
        }
    }
}

extension DigestTests {
    @Test func challengeParsingErrors() {
        #expect(throws: DigestError.notDigestScheme("Basic")) { try DigestChallenge(parsing: #"Basic realm="x""#) }
        #expect(throws: DigestError.missingParameter("realm")) { try DigestChallenge(parsing: #"Digest nonce="n""#) }
        #expect(throws: DigestError.missingParameter("nonce")) { try DigestChallenge(parsing: #"Digest realm="r""#) }
        #expect(throws: DigestError.missingParameter("nonce")) { try DigestChallenge(parsing: #"Digest realm="r", nonce="""#) }
        #expect(throws: DigestError.unsupportedAlgorithm("SHA3")) {
            try DigestChallenge(parsing: #"Digest realm="r", nonce="n", algorithm=SHA3"#)
        }
        #expect(throws: DigestError.unsupportedQop("auth-conf")) {
            try DigestChallenge(parsing: #"Digest realm="r", nonce="n", qop="auth-conf""#)
        }
        for bad in ["", "   ", "Digest realm=\"r, nonce=\"n\"", "realm=\"r\", nonce=\"n\"",
                    "Digest realm=\"r\r\nX: y\", nonce=\"n\"", "Digest realm=\"r\", nonce=\"n\\",
                    "Digest realm=, nonce=n", "Digest realm=\"r\" @ nonce=\"n\""] {
            #expect(throws: DigestError.self) { try DigestChallenge(parsing: bad) }
        }
    }
}

extension DigestTests {
    @Test func descriptionsCarryNoSecrets() throws {
        let server = DigestServer(secret: Array("topsecretkey".utf8))
        #expect(!server.description.contains("topsecretkey"))
        #expect(!server.description.contains(DigestHash.hex(Array("topsecretkey".utf8))))
        #expect(!DigestSecret.password("hunter2").description.contains("hunter2"))
        let stored = DigestSecret.hashed(username: "u", realm: "r", password: "hunter2", algorithm: .md5)
        #expect(!stored.description.contains(DigestHash.md5Hex("u:r:hunter2".utf8)))

        var client = DigestClient()
        let header = try client.authorization(for: DigestChallenge(realm: "r", nonce: "n"), method: "REGISTER",
                                              uri: "sip:r", username: "u", password: "hunter2")
        let creds = try DigestCredentials(parsing: header)
        #expect(!creds.description.contains(creds.response))
        #expect(!client.description.contains("hunter2"))
        #expect(DigestError.malformed("x").description == "The digest header is malformed: x.")
        // Peer text in errors is short and printable.
        let long = DigestError.notDigestScheme(String(repeating: "A", count: 500) + "\r\n")
        #expect(long.description.count < 120 && !long.description.contains("\r"))
    }
}

// MARK: - Credentials parsing

extension DigestTests {
    @Test func credentialsParsingIsStrict() throws {
        let good = #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", qop=auth, nc=0000000a, cnonce="c""#
        let creds = try DigestCredentials(parsing: good)
        #expect(creds.nonceCount == 10 && creds.nc == "0000000a" && creds.cnonce == "c")

        #expect(throws: DigestError.duplicateParameter("response")) {
            try DigestCredentials(parsing: good + #", response="def""#)
        }
        #expect(throws: DigestError.missingParameter("nc")) {
            try DigestCredentials(parsing: #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", qop=auth, cnonce="c""#)
        }
        #expect(throws: DigestError.missingParameter("cnonce")) {
            try DigestCredentials(parsing: #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", algorithm=MD5-sess"#)
        }
        #expect(throws: DigestError.missingParameter("username")) {
            try DigestCredentials(parsing: #"Digest realm="r", nonce="n", uri="sip:r", response="abc""#)
        }
        #expect(throws: DigestError.self) {
            try DigestCredentials(parsing: #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", qop=auth, nc=1, cnonce="c""#)
        }
        #expect(throws: DigestError.unsupportedQop("auth-conf")) {
            try DigestCredentials(parsing: #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", qop=auth-conf, nc=00000001, cnonce="c""#)
        }
        #expect(throws: DigestError.self) {
            try DigestCredentials(parsing: #"Digest username="u", realm="r", nonce="n", uri="sip:r", response="abc", Digest username="v""#)
        }
        // Unquoted uri as some devices send it.
        let unquoted = try DigestCredentials(parsing: #"Digest username=u, realm=r, nonce=n, uri=sip:bob@host, response=abc"#)
        #expect(unquoted.uri == "sip:bob@host")
    }
}

// MARK: - Server

private let now: Int64 = 1_700_000_000

private func answer(_ challengeHeader: String, method: String = "REGISTER", password: String = "secret",
                    body: [UInt8] = []) throws -> String {
    var client = DigestClient()
    return try client.authorization(for: try DigestChallenge(parsing: challengeHeader), method: method,
                                    uri: "sip:example.org", username: "alice", password: password, body: body)
}

extension DigestTests {
    @Test func serverRoundTripEveryAlgorithm() throws {
        let server = DigestServer(secret: Array("server-secret".utf8))
        for algorithm in DigestAlgorithm.allCases {
            let header = server.challenge(realm: "example.org", stale: false, algorithm: algorithm, now: now)
            let challenge = try DigestChallenge(parsing: header)
            #expect(challenge.algorithm == algorithm && challenge.qopOptions == [.auth] && !challenge.stale)
            let auth = try answer(header)
            #expect(server.verify(authorization: auth, method: "REGISTER", password: "secret", now: now + 10) == .valid)
            #expect(server.verify(authorization: auth, method: "REGISTER", password: "wrong", now: now + 10)
                == .invalid(reason: "the response does not match"))
            #expect(server.verify(authorization: auth, method: "INVITE", password: "secret", now: now + 10) != .valid)
            // Precomputed HA1 works for the matching family, not another one.
            let creds = try DigestCredentials(parsing: auth)
            let stored = DigestSecret.hashed(username: "alice", realm: "example.org", password: "secret",
                                             algorithm: algorithm)
            #expect(server.verify(credentials: creds, method: "REGISTER", secret: stored, now: now) == .valid)
            let other: DigestAlgorithm = algorithm.base == .md5 ? .sha256 : .md5
            let wrongFamily = DigestSecret.hashed(username: "alice", realm: "example.org", password: "secret",
                                                  algorithm: other)
            #expect(server.verify(credentials: creds, method: "REGISTER", secret: wrongFamily, now: now) != .valid)
        }
        #expect(try DigestChallenge(parsing: server.challenge(realm: "r", stale: true, algorithm: .md5)).stale)
    }
}

extension DigestTests {
    @Test func serverRejectsTamperingAndExpiry() throws {
        let server = DigestServer(secret: Array("server-secret".utf8), nonceLifetime: 300)
        let header = server.challenge(realm: "example.org", stale: false, algorithm: .sha256, now: now)
        let auth = try answer(header)
        let creds = try DigestCredentials(parsing: auth)
        func check(_ c: DigestCredentials, at t: Int64 = now) -> DigestVerification {
            server.verify(credentials: c, method: "REGISTER", secret: .password("secret"), now: t)
        }
        #expect(check(creds) == .valid)
        #expect(check(creds, at: now + 300) == .valid)
        // Expired but correct: stale. Expired and wrong: invalid.
        #expect(check(creds, at: now + 301) == .stale)
        #expect(server.verify(credentials: creds, method: "REGISTER", secret: .password("nope"), now: now + 301) != .stale)
        // A nonce from the future (clock stepped back) is stale too.
        #expect(check(creds, at: now - 3600) == .stale)

        // Tampered nonce: flip each position in turn; the client recomputes the
        // response so only the nonce MAC can catch it.
        let original = Array(creds.nonce)
        for i in original.indices {
            var chars = original
            chars[i] = chars[i] == "0" ? "1" : "0"
            var forged = try DigestChallenge(parsing: header)
            forged.nonce = String(chars)
            var client = DigestClient()
            let forgedAuth = try client.authorization(for: forged, method: "REGISTER", uri: "sip:example.org",
                                                      username: "alice", password: "secret")
            #expect(server.verify(authorization: forgedAuth, method: "REGISTER", password: "secret", now: now)
                == .invalid(reason: "the nonce was not issued by this server for this realm"))
        }
        // Nonce moved to another realm, or checked by a server with another secret.
        var moved = try DigestChallenge(parsing: header)
        moved.realm = "other.org"
        var client = DigestClient()
        let movedAuth = try client.authorization(for: moved, method: "REGISTER", uri: "sip:example.org",
                                                 username: "alice", password: "secret")
        #expect(server.verify(authorization: movedAuth, method: "REGISTER", password: "secret", now: now) != .valid)
        let stranger = DigestServer(secret: Array("another-secret".utf8))
        #expect(stranger.verify(authorization: auth, method: "REGISTER", password: "secret", now: now) != .valid)

        // Tampered response, uppercase hex accepted.
        var bad = creds
        bad.response = String(bad.response.reversed())
        #expect(check(bad) != .valid)
        var upper = creds
        upper.response = creds.response.uppercased()
        #expect(check(upper) == .valid)
        var short = creds
        short.response = ""
        #expect(check(short) != .valid)
    }
}

extension DigestTests {
    @Test func serverPolicies() throws {
        var server = DigestServer(secret: Array("k".utf8))
        // An RFC 2069 answer (no qop) to one of our nonces is refused by default.
        var challenge = try DigestChallenge(parsing: server.challenge(realm: "r", stale: false, algorithm: .md5, now: now))
        challenge.qopOptions = []
        var client = DigestClient()
        let legacy = try client.authorization(for: challenge, method: "REGISTER", uri: "sip:r",
                                              username: "alice", password: "secret")
        #expect(server.verify(authorization: legacy, method: "REGISTER", password: "secret", now: now)
            == .invalid(reason: "qop is required"))
        server.requireQop = false
        #expect(server.verify(authorization: legacy, method: "REGISTER", password: "secret", now: now) == .valid)

        server.acceptedAlgorithms = [.sha256]
        #expect(server.verify(authorization: legacy, method: "REGISTER", password: "secret", now: now) != .valid)

        // auth-int: body is covered.
        let intServer = DigestServer(secret: Array("k".utf8))
        let header = intServer.challenge(realm: "r", stale: false, algorithm: .sha256, qop: [.authInt], now: now)
        let body = Array("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n".utf8)
        let auth = try answer(header, method: "INVITE", body: body)
        #expect(intServer.verify(authorization: auth, method: "INVITE", password: "secret", body: body, now: now) == .valid)
        #expect(intServer.verify(authorization: auth, method: "INVITE", password: "secret",
                                 body: body + [0x20], now: now) != .valid)

        // A random secret per server when none is given.
        #expect(DigestServer().verify(authorization: auth, method: "INVITE", password: "secret", body: body, now: now) != .valid)
        // Garbage in, invalid out.
        #expect(intServer.verify(authorization: "Basic dXNlcjpwYXNz", method: "INVITE", password: "x", now: now)
            == .invalid(reason: DigestError.notDigestScheme("Basic").description))
    }
}

// MARK: - Mutation pass


private func mutate(_ s: String, _ rng: inout SeededGenerator) -> String {
    var bytes = Array(s.utf8)
    let interesting: [UInt8] = Array("\"\\,= \t\r\n\0".utf8) + [0xff, 0xc3, 0x80, 0x7f]
    for _ in 0..<Int.random(in: 1...6, using: &rng) {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where !bytes.isEmpty:
            bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
        case 1:
            bytes.insert(interesting.randomElement(using: &rng)!, at: Int.random(in: 0...bytes.count, using: &rng))
        case 2 where !bytes.isEmpty:
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        case 3 where !bytes.isEmpty:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 4 where !bytes.isEmpty:
            let start = Int.random(in: 0..<bytes.count, using: &rng)
            let end = Int.random(in: start...bytes.count, using: &rng)
            bytes.insert(contentsOf: bytes[start..<end], at: Int.random(in: 0...bytes.count, using: &rng))
        default:
            bytes.append(interesting.randomElement(using: &rng)!)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension DigestTests {
    @Test func malformedHeadersNeverCrash() throws {
        var rng = SeededGenerator(seed: 0x7131_11e5)
        let server = DigestServer(secret: Array("k".utf8))
        let challengeHeader = server.challenge(realm: "example.org", stale: true, algorithm: .sha256, now: now)
        let authHeader = try answer(challengeHeader)
        let seeds = [challengeHeader, authHeader,
                     #"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b", opaque="5ccc", domain="a b""#,
                     #"Basic realm="x", Digest realm="a", nonce="1", algorithm=MD5-sess, userhash=true"#]
        var accepted = 0
        for round in 0..<600 {
            let input = mutate(seeds[round % seeds.count], &rng)
            if let c = try? DigestChallenge(parsing: input) {
                accepted += 1
                var client = DigestClient()
                // Whatever parsed must be answerable or refused cleanly.
                _ = try? client.authorization(for: c, method: "REGISTER", uri: "sip:x", username: "u", password: "p")
                _ = try? c.headerValue()
                _ = c.description
            }
            _ = DigestClient.choose(DigestChallenge.parseAll(input))
            if let creds = try? DigestCredentials(parsing: input) { _ = creds.description }
            let verdict = server.verify(authorization: input, method: "REGISTER", password: "secret", now: now)
            if verdict == .valid {
                // Only harmless mutations (spacing, case) may survive verification.
                #expect(try DigestCredentials(parsing: input).response.lowercased()
                    == DigestCredentials(parsing: authHeader).response)
            }
        }
        #expect(accepted > 0)  // the mutations are not all trivially fatal
    }
}

extension DigestTests {
    @Test func randomAndHugeInputsFailCleanly() {
        var rng = SeededGenerator(seed: 42)
        let server = DigestServer(secret: Array("k".utf8))
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let input = "Digest " + String(decoding: bytes, as: UTF8.self)
            _ = try? DigestChallenge(parsing: input)
            _ = try? DigestCredentials(parsing: input)
            #expect(server.verify(authorization: input, method: "REGISTER", password: "p", now: now) != .valid)
        }
        // Long values stay linear and end in an error, not a hang or trap.
        let huge = "Digest realm=\"" + String(repeating: "\\\"", count: 50_000)
        #expect(throws: DigestError.malformed("unterminated quoted string")) { try DigestChallenge(parsing: huge) }
        let many = "Digest " + String(repeating: "a=b, ", count: 20_000)
        #expect(throws: DigestError.missingParameter("realm")) { try DigestChallenge(parsing: many) }
        #expect(throws: DigestError.duplicateParameter("a")) { try DigestCredentials(parsing: many) }
    }
}
