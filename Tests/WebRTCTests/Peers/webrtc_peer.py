#!/usr/bin/env python3
"""Test peer for Tieline integration tests: plays the browser AND the phone.

The browser is an aiortc RTCPeerConnection (real ICE + DTLS-SRTP) talking to
the gateway's WebRTC leg; the phone is a plain RTP socket on 127.0.0.1 talking
to the gateway's phone leg. Both sides send a tone (and optionally RFC 4733
DTMF), record what arrives and report an analysis as JSON.

Protocol on stdin/stdout, one JSON object per line (logging goes to stderr):
  --browser-offers (default)
     peer  -> {"offer": SDP, "phone_port": M}
     swift -> {"answer": SDP, "phone_port": P}
  --gateway-offers
     peer  -> {"ready": true, "phone_port": M}
     swift -> {"offer": SDP, "phone_port": P}
     peer  -> {"answer": SDP}
  finally
     peer  -> {"result": {...}}    (exit 0; handled failures go in result.error)
"""

import argparse
import asyncio
import fractions
import json
import logging
import math
import os
import random
import re
import struct
import sys
import threading
import time

import av
import numpy as np

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtpPacket

log = logging.getLogger("webrtc_peer")

# aioice never offers loopback host candidates and has no option for it; the
# tests must only ever send to 127.0.0.1, so this is the only address offered.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

PHONE_PT = {"PCMU": 0, "PCMA": 8, "G722": 9}
PHONE_RATE = {"PCMU": 8000, "PCMA": 8000, "G722": 16000}  # sampling, not RTP clock
DTMF_EVENTS = "0123456789*#ABCD"
AMPLITUDE = 0.5


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------
# G.711 (Sun reference algorithm, vectorised; bit-exact with audioop/sox).
# Implemented here rather than via audioop, which is gone from Python 3.13.

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(pcm):
    v = np.asarray(pcm, np.int32) >> 2
    mask = np.where(v < 0, 0x7F, 0xFF)
    v = np.minimum(np.abs(v), 8159) + 0x21
    seg = np.searchsorted(_SEG_UEND, v)
    code = (seg << 4) | ((v >> (seg + 1)) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


def ulaw_decode(codes):
    u = ~np.asarray(codes, np.int32) & 0xFF
    t = (((u & 0xF) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def alaw_encode(pcm):
    v = np.asarray(pcm, np.int32) >> 3
    mask = np.where(v >= 0, 0xD5, 0x55)
    v = np.where(v >= 0, v, -v - 1)
    seg = np.searchsorted(_SEG_AEND, v)
    shift = np.where(seg < 2, 1, seg)
    code = (np.minimum(seg, 7) << 4) | ((v >> shift) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


def alaw_decode(codes):
    a = np.asarray(codes, np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0xF) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def g722_codec(mode):
    ctx = av.CodecContext.create("g722", mode)
    ctx.sample_rate, ctx.layout, ctx.format = 16000, "mono", "s16"
    return ctx


def encode_stream(codec, pcm):
    """Encode a whole int16 signal to one codec byte stream (1 byte = 1 RTP tick)."""
    if codec == "PCMU":
        return ulaw_encode(pcm).tobytes()
    if codec == "PCMA":
        return alaw_encode(pcm).tobytes()
    # G.722 is stateful ADPCM; encoding the tone once up front lets packets of
    # any ptime be plain slices of one continuous stream.
    enc, out = g722_codec("w"), bytearray()
    enc.open()
    for i in range(0, len(pcm) - 319, 320):
        frame = av.AudioFrame.from_ndarray(pcm[None, i:i + 320], format="s16", layout="mono")
        frame.sample_rate = 16000
        out += b"".join(bytes(p) for p in enc.encode(frame))
    return bytes(out)


def decode_payloads(pt, packets):
    """Decode one stream's (timestamp, payload) list into float samples.

    Payloads are placed by RTP timestamp so that lost packets become silence
    (visible in longest_silence_ms) instead of being spliced together.
    Returns (samples, rate, gap_ms)."""
    rate = 16000 if pt == 9 else 8000
    dec = g722_codec("r") if pt == 9 else None
    chunks, end, gap, ts0 = [], 0, 0, packets[0][0] if packets else 0
    for ts, payload in packets:
        if pt == 0:
            x = ulaw_decode(np.frombuffer(payload, np.uint8))
        elif pt == 8:
            x = alaw_decode(np.frombuffer(payload, np.uint8))
        else:
            frames = dec.decode(av.Packet(payload))
            x = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]) if frames else np.zeros(0)
        pos = ((ts - ts0) & 0xFFFFFFFF) * (rate // 8000)
        if 0 < pos - end < 5 * rate:
            chunks.append(np.zeros(pos - end))
            gap += pos - end
            end = pos
        chunks.append(x / 32768.0)
        end += len(x)
    return (np.concatenate(chunks) if chunks else np.zeros(0)), rate, round(gap * 1000 / rate)


def sine(hz, rate, n, start=0):
    t = (np.arange(n) + start) / rate
    return AMPLITUDE * np.sin(2 * np.pi * hz * t)


def to_int16(x):
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------
# Analysis

def dbfs(x):
    rms = math.sqrt(float(np.mean(np.square(x)))) if len(x) else 0.0
    return round(20 * math.log10(rms), 2) if rms > 1e-6 else -120.0


def analyse(x, rate, skip=0.3):
    seg = np.asarray(x, np.float64)[int(skip * rate):]
    res = {"seconds": round(len(x) / rate, 3) if rate else 0, "sample_rate": rate,
           "level_dbfs": dbfs(seg), "peak_hz": None, "energy_share": None,
           "longest_silence_ms": None}
    if len(seg) < rate // 10:
        return res
    # Zero-pad to at least 2 s of samples so bins are <= 0.5 Hz apart.
    nfft = 1 << int(math.ceil(math.log2(max(len(seg), 2 * rate))))
    power = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), nfft)) ** 2
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
    if res["level_dbfs"] > -90:
        k = int(np.argmax(power))
        res["peak_hz"] = round(float(freqs[k]), 1)
        near = np.abs(freqs - freqs[k]) <= 25
        res["energy_share"] = round(float(power[near].sum() / power.sum()), 4)
    block = rate // 100
    nb = len(seg) // block
    rms = np.sqrt(np.mean(np.square(seg[:nb * block].reshape(nb, block)), axis=1))
    run = longest = 0
    for quiet in rms < 10 ** (-50 / 20):
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    res["longest_silence_ms"] = longest * 10
    return res


class DtmfCollector:
    """Groups RFC 4733 packets into events keyed by (ssrc, start timestamp)."""

    def __init__(self, clock):
        self.clock, self.events = clock, {}

    def add(self, pkt_ssrc, ts, marker, payload):
        if len(payload) < 4:
            return
        code, flags, duration = struct.unpack("!BBH", payload[:4])
        ev = self.events.setdefault((pkt_ssrc, ts), {
            "digit": DTMF_EVENTS[code] if code < 16 else str(code), "event": code,
            "timestamp": ts, "ssrc": pkt_ssrc, "clock": self.clock, "packets": 0,
            "end_packets": 0, "marker": False, "duration": 0, "volume": flags & 0x3F})
        ev["packets"] += 1
        ev["marker"] |= bool(marker)
        if flags & 0x80:
            ev["end_packets"] += 1
            ev["duration"] = duration
        elif not ev["end_packets"]:
            ev["duration"] = max(ev["duration"], duration)

    def report(self):
        return list(self.events.values())


def rfc4733_schedule(digits, clock, ms):
    """Yields (code, marker, end, duration) per 20 ms tick, None for gap ticks."""
    step = clock * 20 // 1000
    n = max(1, ms // 20)
    for d in digits:
        code = DTMF_EVENTS.index(d.upper())
        for k in range(1, n):
            yield code, k == 1, False, k * step
        for i in range(3):
            yield code, n == 1 and i == 0, True, n * step
        for _ in range(5):  # 100 ms gap
            yield None


# --------------------------------------------------------------------------
# Browser side

class ToneTrack(MediaStreamTrack):
    """48 kHz mono sine in 20 ms frames, paced in real time like a microphone."""
    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self.hz, self.n, self.t0 = hz, 0, None
        self.sent = []
        # aiortc's Opus encoder upmixes mono to stereo with libswresample, which
        # attenuates by 3 dB; feeding stereo keeps the wire level at -9 dBFS RMS.
        self.stereo = False

    async def recv(self):
        if self.t0 is None:
            self.t0 = time.monotonic()
        wait = self.t0 + self.n / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        x = sine(self.hz, 48000, 960, self.n) if self.hz else np.zeros(960)
        self.sent.append(x)
        pcm = to_int16(x)
        if self.stereo:
            frame = av.AudioFrame.from_ndarray(np.repeat(pcm, 2)[None, :], format="s16", layout="stereo")
        else:
            frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.n
        frame.time_base = fractions.Fraction(1, 48000)
        self.n += 960
        return frame


def frame_mono(frame):
    a = frame.to_ndarray().astype(np.float64)
    ch = len(frame.layout.channels)
    a = a.reshape(ch, -1).mean(axis=0) if frame.format.is_planar else a.reshape(-1, ch).mean(axis=1)
    return a / 32768.0 if frame.format.name.startswith("s16") else a


async def record_track(track, store):
    # Frames are placed on a timeline by pts: aiortc emits nothing for lost
    # packets, so gaps must become silence for longest_silence_ms to mean anything.
    while True:
        try:
            frame = await track.recv()
        except Exception:
            return
        store["frames"] += 1
        x, rate = frame_mono(frame), frame.sample_rate
        if store["rate"] is None:
            store["rate"] = rate
        if rate != store["rate"]:
            store["rate_changes"] += 1
            continue
        pos = int(round(float(frame.pts * frame.time_base) * rate)) if frame.pts is not None else None
        if store["origin"] is None:
            store["origin"] = pos or 0
        pos = store["end"] if pos is None else pos - store["origin"]
        if 0 <= pos - store["end"] < 5 * rate:
            store["gap_samples"] += pos - store["end"]
            store["chunks"].append(np.zeros(pos - store["end"]))
            store["end"] = pos
        store["chunks"].append(x)
        store["end"] += len(x)


def munge_telephone_event(sdp, pt, clock):
    """Adds telephone-event to the audio m= section (aiortc never negotiates it)."""
    if "telephone-event" in sdp:
        return sdp
    lines, out, in_audio = sdp.split("\r\n"), [], False
    for i, line in enumerate(lines):
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
            if in_audio:
                line += f" {pt}"
        out.append(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if in_audio and line.startswith("a=rtpmap:") and not nxt.startswith(("a=rtpmap:", "a=rtcp-fb:", "a=fmtp:")):
            out += [f"a=rtpmap:{pt} telephone-event/{clock}", f"a=fmtp:{pt} 0-16"]
            in_audio = False
    return "\r\n".join(out)


def corrupt_fingerprints(sdp):
    # Every hash is corrupted, so the gateway can't pass by picking another.
    def flip(m):
        hexbyte = m.group(2)
        return m.group(1) + "%02X" % (int(hexbyte, 16) ^ 0xFF)
    return re.sub(r"(a=fingerprint:\S+ )([0-9A-Fa-f]{2})", flip, sdp)


def corrupt_ice_pwd(sdp):
    return re.sub(r"(a=ice-pwd:)(\S)", lambda m: m.group(1) + ("b" if m.group(2) != "b" else "c"), sdp)


# --------------------------------------------------------------------------
# Phone side

class PhoneProtocol(asyncio.DatagramProtocol):
    def __init__(self):
        self.rx, self.sources, self.transport = [], set(), None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) >= 12 and data[0] >> 6 == 2:
            self.rx.append((time.monotonic(), data))
            self.sources.add(f"{addr[0]}:{addr[1]}")


class Phone:
    def __init__(self, args, proto):
        self.args, self.proto = args, proto
        self.codec, self.pt = args.phone_codec, PHONE_PT[args.phone_codec]
        self.spp = 8 * args.phone_ptime                  # RTP ticks (8 kHz) per packet
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts0 = random.getrandbits(32)
        self.rng = random.Random(args.seed)
        rate = PHONE_RATE[self.codec]
        n = int((args.duration + args.connect_timeout + 30) * rate)
        self.signal = sine(args.phone_tone, rate, n) if args.phone_tone else np.zeros(n)
        self.stream = encode_stream(self.codec, to_int16(self.signal))
        self.per_tick = rate // 8000                     # samples per RTP tick
        self.dest, self.tick, self.sent, self.dropped = None, 0, 0, 0
        self.sent_ranges, self.dtmf_active = [], False

    def send(self, pt, marker, ts, payload):
        hdr = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq, ts & 0xFFFFFFFF, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        self.proto.transport.sendto(hdr + payload, self.dest)

    async def run_audio(self):
        t0 = time.monotonic()
        while True:
            k = self.tick
            # The first packet always goes out so the gateway can latch onto us.
            if not self.dtmf_active:
                if k > 0 and self.rng.random() < self.args.phone_loss:
                    self.seq = (self.seq + 1) & 0xFFFF  # a lost packet still used its seq
                    self.dropped += 1
                else:
                    payload = self.stream[k * self.spp:(k + 1) * self.spp]
                    self.send(self.pt, k == 0, self.ts0 + k * self.spp, payload)
                    self.sent += 1
                    self.sent_ranges.append(k)
            self.tick += 1
            await asyncio.sleep(max(0.0, t0 + self.tick * self.args.phone_ptime / 1000 - time.monotonic()))

    async def run_dtmf(self, digits):
        # Shares SSRC/seq with the audio; the event starts at the current audio
        # time and audio pauses until its end packets are out, like a real phone.
        te_pt = self.args.telephone_event
        start_ts, t0, i = None, time.monotonic(), 0
        for step in rfc4733_schedule(digits, 8000, self.args.dtmf_ms):
            if step is None:
                self.dtmf_active, start_ts = False, None
            else:
                code, marker, end, duration = step
                self.dtmf_active = True
                if start_ts is None:
                    start_ts = self.ts0 + self.tick * self.spp
                self.send(te_pt, marker, start_ts, struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration))
            i += 1
            await asyncio.sleep(max(0.0, t0 + i * 0.02 - time.monotonic()))
        self.dtmf_active = False

    def tx_report(self):
        rate = PHONE_RATE[self.codec]
        spp = self.spp * self.per_tick
        sent = [self.signal[k * spp:(k + 1) * spp] for k in self.sent_ranges]
        return {"packets": self.sent, "dropped": self.dropped, "codec": self.codec, "ssrc": self.ssrc,
                "level_dbfs": dbfs(np.concatenate(sent)) if sent else -120.0, "sample_rate": rate}


def phone_rx_report(rx, te_pt, sources):
    dtmf = DtmfCollector(8000)
    audio, last_by_ssrc, last_audio = {}, {}, {}
    pts, ssrcs, gaps, steps, ptimes, markers = set(), set(), 0, set(), [], 0
    for _, data in rx:
        b1, seq, ts, ssrc = struct.unpack("!xBHII", data[:12])
        cc, pt, marker = data[0] & 0x0F, b1 & 0x7F, b1 >> 7
        off = 12 + 4 * cc
        if data[0] & 0x10 and len(data) >= off + 4:  # header extension
            off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
        payload = data[off:]
        if data[0] & 0x20 and payload:                # padding
            payload = payload[:-payload[-1]]
        pts.add(pt)
        ssrcs.add(ssrc)
        markers += marker
        if ssrc in last_by_ssrc and seq != (last_by_ssrc[ssrc] + 1) & 0xFFFF:
            gaps += 1
        last_by_ssrc[ssrc] = seq
        if pt == te_pt:
            dtmf.add(ssrc, ts, marker, payload)
            continue
        if ssrc in last_audio:
            steps.add((ts - last_audio[ssrc]) & 0xFFFFFFFF)
        last_audio[ssrc] = ts
        if pt in (0, 8, 9):
            audio.setdefault((ssrc, pt), []).append((ts, payload))
        ptimes.append(len(payload) / 8.0)  # PCMU/PCMA/G722: 8 payload bytes per ms
    res = {"packets": len(rx), "payload_types": sorted(pts), "ssrcs": sorted(ssrcs),
           "seq_gaps": gaps, "timestamp_steps": sorted(steps)[:20], "marker_packets": markers,
           "ptime_ms_median": float(np.median(ptimes)) if ptimes else None,
           "sources": sorted(sources), "dtmf": dtmf.report()}
    # The longest time without any RTP arriving: a hold must show as one.
    arrivals = [at for at, _ in rx]
    res["longest_silence_s"] = max((b - a for a, b in zip(arrivals, arrivals[1:])), default=0.0)
    if audio:
        ssrc, pt = max(audio, key=lambda k: len(audio[k]))
        x, rate, gap_ms = decode_payloads(pt, audio[(ssrc, pt)])
        res.update(analyse(x, rate))
        res.update(audio_pt=pt, gap_filled_ms=gap_ms)
    return res


# --------------------------------------------------------------------------
# Main flow

class StdinLines:
    """Async line reader on stdin that reports EOF instead of hanging."""

    async def open(self):
        loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self.reader), sys.stdin)

    async def read_json(self, timeout):
        while True:
            try:
                line = await asyncio.wait_for(self.reader.readline(), timeout)
            except asyncio.TimeoutError:
                raise ProtocolError(f"no reply from the test within {timeout:g} s") from None
            if not line:
                raise ProtocolError("stdin closed before the test replied")
            if line.strip():
                try:
                    return json.loads(line)
                except ValueError:
                    raise ProtocolError(f"not JSON from the test: {line[:200]!r}") from None


class ProtocolError(Exception):
    pass


async def run(args, result):
    loop = asyncio.get_running_loop()
    proto = PhoneProtocol()
    await loop.create_datagram_endpoint(lambda: proto, local_addr=("127.0.0.1", 0))
    my_port = proto.transport.get_extra_info("sockname")[1]
    phone = Phone(args, proto)
    stdin = StdinLines()
    await stdin.open()

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    result["_pc"] = pc
    tone = ToneTrack(args.browser_tone)
    transceiver = pc.addTransceiver(tone, direction="sendrecv")
    caps = RTCRtpSender.getCapabilities("audio").codecs
    wanted = [c.strip().lower() for c in args.browser_codecs.split(",") if c.strip()]
    prefs = [c for w in wanted for c in caps if c.mimeType.lower() == f"audio/{w}"]
    if len(prefs) != len(wanted):
        raise SystemExit(f"unsupported --browser-codecs {args.browser_codecs}")
    transceiver.setCodecPreferences(prefs)

    states = {"connection": [], "ice": [], "dtls": []}
    connected = asyncio.Event()
    rx_store = {"frames": 0, "rate": None, "origin": None, "end": 0, "chunks": [],
                "gap_samples": 0, "rate_changes": 0}
    te_pt, te_clock = args.telephone_event, args.telephone_event_clock
    browser_dtmf = DtmfCollector(te_clock)
    tasks = []

    @pc.on("connectionstatechange")
    def _conn():
        states["connection"].append(pc.connectionState)
        if pc.connectionState == "connected":
            connected.set()
        elif pc.connectionState in ("failed", "closed"):
            connected.set()

    @pc.on("iceconnectionstatechange")
    def _ice():
        states["ice"].append(pc.iceConnectionState)

    @pc.on("track")
    def _track(track):
        tasks.append(asyncio.ensure_future(record_track(track, rx_store)))

    def hook_dtls(dtls):
        # aiortc's RtpRouter drops packets whose PT was not negotiated before any
        # receiver sees them, so telephone-event must be caught at the transport.
        orig = dtls._handle_rtp_data

        async def handle(data, arrival_time_ms):
            if len(data) >= 12 and data[1] & 0x7F == te_pt:
                try:
                    p = RtpPacket.parse(data)
                    browser_dtmf.add(p.ssrc, p.timestamp, p.marker, p.payload)
                except ValueError:
                    pass
            await orig(data, arrival_time_ms)
        dtls._handle_rtp_data = handle
        dtls.on("statechange", lambda: states["dtls"].append(dtls.state))

    if args.gateway_offers:
        emit({"ready": True, "phone_port": my_port})
        msg = await stdin.read_json(args.connect_timeout + 5)
        remote = msg["offer"]
        # Follow the gateway's telephone-event PT so our answer mirrors its offer.
        m = re.search(r"a=rtpmap:(\d+) telephone-event/%d" % te_clock, remote)
        if m:
            te_pt = int(m.group(1))
        if args.wrong_ice_pwd:
            remote = corrupt_ice_pwd(remote)
        await pc.setRemoteDescription(RTCSessionDescription(remote, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        sdp = munge_telephone_event(pc.localDescription.sdp, te_pt, te_clock)
        if args.wrong_fingerprint:
            sdp = corrupt_fingerprints(sdp)
        hook_dtls(transceiver.sender.transport)
        emit({"answer": sdp})
    else:
        await pc.setLocalDescription(await pc.createOffer())
        sdp = munge_telephone_event(pc.localDescription.sdp, te_pt, te_clock)
        if args.wrong_fingerprint:
            sdp = corrupt_fingerprints(sdp)
        emit({"offer": sdp, "phone_port": my_port})
        msg = await stdin.read_json(args.connect_timeout + 5)
        remote = msg["answer"]
        if args.wrong_ice_pwd:
            remote = corrupt_ice_pwd(remote)
        await pc.setRemoteDescription(RTCSessionDescription(remote, "answer"))
        hook_dtls(transceiver.sender.transport)
    result["telephone_event_pt"] = te_pt
    # The sender uses the first negotiated codec (aiortc RTCRtpSender.send).
    send_codec = transceiver._codecs[0].mimeType.split("/")[1] if transceiver._codecs else None
    tone.stereo = send_codec == "opus"
    result["browser_send_codec"] = send_codec

    if msg.get("phone_port"):
        phone.dest = (msg.get("phone_host", "127.0.0.1"), int(msg["phone_port"]))
        tasks.append(asyncio.ensure_future(phone.run_audio()))

    t_start = time.monotonic()
    try:
        await asyncio.wait_for(connected.wait(), args.connect_timeout)
    except asyncio.TimeoutError:
        pass
    is_up = pc.connectionState == "connected"
    result["connect_ms"] = round((time.monotonic() - t_start) * 1000) if is_up else None
    if not is_up:
        result["error"] = f"WebRTC not connected: connection state {pc.connectionState}"

    async def browser_dtmf_sender():
        dtls = transceiver.sender.transport
        ssrc, seq, ts = random.getrandbits(32), random.getrandbits(16), random.getrandbits(32)
        t0, i, start = time.monotonic(), 0, None
        for step in rfc4733_schedule(args.browser_dtmf, te_clock, args.dtmf_ms):
            elapsed_ts = ts + int((time.monotonic() - t0) * te_clock)
            if step is None:
                start = None
            else:
                code, marker, end, duration = step
                start = elapsed_ts if start is None else start
                pkt = RtpPacket(payload_type=te_pt, marker=int(marker), sequence_number=seq,
                                timestamp=start & 0xFFFFFFFF, ssrc=ssrc,
                                payload=struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration))
                seq = (seq + 1) & 0xFFFF
                await dtls._send_rtp(pkt.serialize())
            i += 1
            await asyncio.sleep(max(0.0, t0 + i * 0.02 - time.monotonic()))

    async def later(delay, coro_fn):
        await asyncio.sleep(delay)
        await coro_fn()

    if args.browser_dtmf and is_up:
        tasks.append(asyncio.ensure_future(later(1.0, browser_dtmf_sender)))
    if args.phone_dtmf and phone.dest:
        tasks.append(asyncio.ensure_future(later(1.0, lambda: phone.run_dtmf(args.phone_dtmf))))

    await asyncio.sleep(args.duration)
    for t in tasks:
        if not t.done():
            t.cancel()
        elif t.exception():
            result.setdefault("task_errors", []).append(repr(t.exception()))

    dtls_state = transceiver.sender.transport.state
    result.update({
        "connection_state": pc.connectionState, "ice_state": pc.iceConnectionState,
        "dtls_state": dtls_state, "connected": "connected" in states["connection"],
        "connection_states": list(states["connection"]), "ice_states": list(states["ice"]),
        "dtls_states": list(states["dtls"]),
    })
    x = np.concatenate(rx_store["chunks"]) if rx_store["chunks"] else np.zeros(0)
    rate = rx_store["rate"] or 48000
    brx = {"frames": rx_store["frames"], "gap_filled_ms": round(rx_store["gap_samples"] * 1000 / rate)}
    brx.update(analyse(x, rate))
    brx["dtmf"] = browser_dtmf.report()
    result["browser_rx"] = brx
    result["browser_tx"] = {"frames": len(tone.sent), "tone_hz": args.browser_tone,
                            "level_dbfs": dbfs(np.concatenate(tone.sent)) if tone.sent else -120.0}
    result["phone_tx"] = phone.tx_report()
    result["phone_rx"] = phone_rx_report(proto.rx, args.telephone_event, proto.sources)
    result["phone_port"] = my_port
    proto.transport.close()


async def main(args):
    result = {}
    try:
        await asyncio.wait_for(run(args, result), args.duration + args.connect_timeout + 5)
    except ProtocolError as e:
        result["error"] = str(e)
    except asyncio.TimeoutError:
        result["error"] = "run timed out"
    except KeyError as e:
        result["error"] = f"message from the test lacks {e}"
    except Exception as e:
        # e.g. aiortc rejecting the gateway's SDP: a finding, not a crash.
        log.exception("run failed")
        result["error"] = f"{type(e).__name__}: {e}"
    pc = result.pop("_pc", None)
    if pc is not None:
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception as e:
            log.warning("close failed: %r", e)
    emit({"result": result})


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--browser-offers", dest="gateway_offers", action="store_false")
    g.add_argument("--gateway-offers", dest="gateway_offers", action="store_true")
    p.set_defaults(gateway_offers=False)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--connect-timeout", type=float, default=10.0)
    p.add_argument("--browser-tone", type=float, default=1000)
    p.add_argument("--browser-codecs", default="opus")
    p.add_argument("--telephone-event", type=int, default=101)
    p.add_argument("--telephone-event-clock", type=int, default=8000)
    p.add_argument("--browser-dtmf", default="")
    p.add_argument("--dtmf-ms", type=int, default=100)
    p.add_argument("--phone-codec", choices=sorted(PHONE_PT), default="PCMU")
    p.add_argument("--phone-ptime", type=int, default=20)
    p.add_argument("--phone-tone", type=float, default=440)
    p.add_argument("--phone-loss", type=float, default=0.0)
    p.add_argument("--phone-dtmf", default="")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wrong-fingerprint", action="store_true")
    p.add_argument("--wrong-ice-pwd", action="store_true")
    p.add_argument("--log-level", default="WARNING")
    args = p.parse_args(argv)
    for d in args.browser_dtmf + args.phone_dtmf:
        if d.upper() not in DTMF_EVENTS:
            p.error(f"bad DTMF digit {d!r}")
    return args


if __name__ == "__main__":
    args = parse_args()
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Last resort: if the event loop itself wedges, still answer and exit.
    hard = args.duration + args.connect_timeout + 10

    def _die():
        emit({"result": {"error": f"hard timeout after {hard} s"}})
        os._exit(3)
    watchdog = threading.Timer(hard, _die)
    watchdog.daemon = True
    watchdog.start()
    asyncio.run(main(args))
    watchdog.cancel()
