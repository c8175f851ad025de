import CLua
import COpenSSL
import COpus
import CSRTP
import CSpanDSP
import XCTest

/// The Debian libraries the media plane and dialplan stand on link and work
/// through their shim modules (the layers above use them for real).
final class CShimTests: XCTestCase {
    func testOpusEncodesAndDecodesAFrame() {
        var error: Int32 = 0
        let encoder = opus_encoder_create(8000, 1, OPUS_APPLICATION_VOIP, &error)
        XCTAssertEqual(error, OPUS_OK)
        defer { opus_encoder_destroy(encoder) }
        let decoder = opus_decoder_create(8000, 1, &error)
        XCTAssertEqual(error, OPUS_OK)
        defer { opus_decoder_destroy(decoder) }
        // 20 ms of a 1 kHz tone at 8 kHz.
        let pcm = (0..<160).map { Int16(8000 * sin(2 * Double.pi * 1000 * Double($0) / 8000)) }
        var packet = [UInt8](repeating: 0, count: 400)
        let length = opus_encode(encoder!, pcm, 160, &packet, 400)
        XCTAssertGreaterThan(length, 0)
        var decoded = [Int16](repeating: 0, count: 160)
        XCTAssertEqual(opus_decode(decoder!, packet, length, &decoded, 160, 0), 160)
    }

    func testSRTPProtectsAPacket() throws {
        // srtp_init is process-wide and a second call fails (other test
        // targets in this process may have run first), so what is checked is
        // that a session can be made and used after it.
        _ = srtp_init()
        var policy = srtp_policy_t()
        srtp_crypto_policy_set_rtp_default(&policy.rtp)
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        policy.ssrc = srtp_ssrc_t(type: ssrc_any_outbound, value: 0)
        var key = [UInt8](repeating: 0x2B, count: 30)
        var session: srtp_t?
        let created = key.withUnsafeMutableBufferPointer { keyBytes -> srtp_err_status_t in
            policy.key = keyBytes.baseAddress
            return srtp_create(&session, &policy)
        }
        XCTAssertEqual(created, srtp_err_status_ok)
        defer { srtp_dealloc(session) }
        // A 12-byte RTP header and 160 bytes of payload gain a 10-byte tag.
        var packet = [UInt8](repeating: 0, count: 12 + 160 + 16)
        packet[0] = 0x80
        packet[11] = 1
        var length: Int32 = 12 + 160
        XCTAssertEqual(srtp_protect(session, &packet, &length), srtp_err_status_ok)
        XCTAssertEqual(length, 12 + 160 + 10)
    }

    func testSpanDSPG711RoundTrip() {
        // µ-law of a mid-scale sample decodes back within the quantisation step.
        let encoded = linear_to_ulaw(1000)
        XCTAssertEqual(Double(ulaw_to_linear(encoded)), 1000, accuracy: 40)
        let alaw = linear_to_alaw(-1000)
        XCTAssertEqual(Double(alaw_to_linear(alaw)), -1000, accuracy: 40)
    }

    func testLuaRunsAChunk() {
        let state = luaL_newstate()
        XCTAssertNotNil(state)
        defer { lua_close(state) }
        luaL_openlibs(state)
        XCTAssertEqual(luaL_loadstring(state, "return 6 * 7"), LUA_OK)
        XCTAssertEqual(lua_pcallk(state, 0, 1, 0, 0, nil), LUA_OK)
        XCTAssertEqual(lua_tointegerx(state, -1, nil), 42)
    }

    func testOpenSSLMakesADTLSContextWithSRTPProfiles() {
        let context = SSL_CTX_new(DTLS_method())
        XCTAssertNotNil(context)
        defer { SSL_CTX_free(context) }
        // 0 means success for this call.
        XCTAssertEqual(SSL_CTX_set_tlsext_use_srtp(context, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"), 0)
    }
}
