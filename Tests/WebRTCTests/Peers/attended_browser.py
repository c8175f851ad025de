#!/usr/bin/env python3
r"""Test peer for an attended transfer the gateway carries out itself.

A browser (aiortc, logged in over the WebSocket protocol) has two calls to
two SIP far ends, each with a plain RTP phone on 127.0.0.1 behind it (the
far ends' SDP names the phones' ports). It holds the first call, places the
second, then sends {"type":"transfer","call":c1,"replaces":c2}. The first
far end refuses the REFER, so the gateway joins the two far ends through
its relay: the browser hears `transferred` and `hangup` 200 for both calls,
and the two phones then talk to each other.

  attended_browser.py --ws wss://127.0.0.1:P/ws --user alice --password pw \
      --call1 N1 --call2 N2 --phone1-port P1 --phone2-port P2 [...]

The phones are symmetric RTP that follows the newest source: each sends
to wherever the first packet from an address it had not heard from before
came from, so they move over to the relay when the gateway's packets start
coming from there. A relay that only forwards sends nothing before it hears
a phone, so like real phones they also go where the far end's SDP now says:
with --phone1-join-file / --phone2-join-file (the file the scenario's
`-key join_file` names, "c=IN IP4 A m=audio P ...", written when the join
re-INVITE arrives) each phone sends to A:P from when the file appears after
the transfer went out. What each phone heard after the join (from the later
`transferred` + 0.5 s on) is reported as phone1_rx_joined / phone2_rx_joined.

Prints one JSON line {"result": {...}} and exits 0; handled failures go in
result.error. Logging goes to stderr.
"""

import argparse
import asyncio
import logging
import os
import re
import ssl
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_peer as peer  # noqa: E402  (tone, analysis, the RTP phone; patches aioice)
from browser_phone import Signaling, gathered_offer  # noqa: E402

import websockets  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

log = logging.getLogger("attended_browser")

TELEPHONE_EVENT = 101


class FollowingProtocol(peer.PhoneProtocol):
    """A phone's socket whose destination is the newest source heard from."""

    def __init__(self):
        super().__init__()
        self.dest, self.changes = None, []  # changes: (monotonic time, "host:port")
        self.rx_sources = []  # the source of each packet in rx
        self.sdp_dest = None  # (monotonic time, "host:port") from the join file

    def datagram_received(self, data, addr):
        if len(data) >= 12 and data[0] >> 6 == 2:
            key = f"{addr[0]}:{addr[1]}"
            if key not in self.sources:
                self.dest = (addr[0], addr[1])
                self.changes.append((time.monotonic(), key))
            self.rx_sources.append(key)
        super().datagram_received(data, addr)


class FollowingPhone(peer.Phone):
    def send(self, pt, marker, ts, payload):
        self.dest = self.proto.dest
        super().send(pt, marker, ts, payload)


async def start_phone(args, port, tone, seed):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(FollowingProtocol, local_addr=("127.0.0.1", port))
    phone_args = types.SimpleNamespace(
        phone_codec="PCMU", phone_ptime=20, seed=seed, duration=args.timeout, connect_timeout=0,
        phone_tone=tone, phone_loss=0.0, telephone_event=TELEPHONE_EVENT, dtmf_ms=160)
    phone = FollowingPhone(phone_args, proto)

    async def audio():
        # Symmetric RTP: the first packet goes out once the gateway's first arrived.
        while proto.dest is None:
            await asyncio.sleep(0.005)
        await phone.run_audio()
    return transport, proto, phone, asyncio.ensure_future(audio())


async def next_for(sig, call, timeout, *types_):
    """The next message for `call` of one of `types_`, or one that ends it
    (its hangup or error, an error naming no call, the socket closing).
    Other messages leave the queue here but stay in sig.log."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {types_} for {call} within {timeout} s")
        message = await sig.next(remaining)
        kind = message["type"]
        if kind == "_closed" or (kind == "error" and message.get("call") in (None, call)):
            return message
        if message.get("call") == call and (kind in types_ or kind == "hangup"):
            return message


async def place_call(sig, call, number, tone_hz, timeout, state):
    """A call with its own RTCPeerConnection; returns the answered message
    or whatever ended the call instead."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    state.pcs.append(pc)
    tone = peer.ToneTrack(tone_hz)
    tone.stereo = True  # Opus: see ToneTrack
    store = {"frames": 0, "rate": None, "rate_changes": 0, "chunks": [], "end": 0, "origin": None, "gap_samples": 0}
    state.stores[call] = store

    @pc.on("track")
    def on_track(track):
        state.recorders.append(asyncio.ensure_future(peer.record_track(track, store)))

    pc.addTrack(tone)
    offer = await gathered_offer(pc)
    await sig.send({"type": "call", "call": call, "to": number, "sdp": offer})
    while True:
        message = await next_for(sig, call, timeout, "progress", "answered")
        if message["type"] in ("progress", "answered") and pc.remoteDescription is None and message.get("sdp"):
            await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        if message["type"] != "progress":
            return message


async def follow_sdp(path, proto):
    """Sends where the far end's SDP now points once the scenario wrote it."""
    while True:
        try:
            with open(path) as file:
                found = re.search(r"c=IN IP4 (\S+) m=audio (\d+)", file.read())
        except OSError:
            found = None
        if found:
            proto.dest = (found.group(1), int(found.group(2)))
            proto.sdp_dest = (time.monotonic(), f"{found.group(1)}:{found.group(2)}")
            return
        await asyncio.sleep(0.02)


def strip(message):
    return {k: v for k, v in message.items() if k not in ("sdp", "_t")}


async def flow(args, result, state):
    state.phones[1] = await start_phone(args, args.phone1_port, args.phone1_tone, 1)
    state.phones[2] = await start_phone(args, args.phone2_port, args.phone2_tone, 2)

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    state.ws = await websockets.connect(args.ws, ssl=context if args.ws.startswith("wss:") else None,
                                        subprotocols=["tieline.v1"], max_size=2 ** 20)
    sig = state.sig = Signaling(state.ws)
    await sig.send({"type": "login", "user": args.user, "password": args.password})
    welcome = await sig.next(10, "welcome", "error")
    if welcome["type"] != "welcome":
        result["error"] = f"login failed: {strip(welcome)}"
        return

    answered = await place_call(sig, "c1", args.call1, args.browser_tone, args.answer_timeout, state)
    if answered["type"] != "answered":
        result["error"] = f"call 1 not answered: {strip(answered)}"
        return
    state.times["answered1"] = answered["_t"]
    await asyncio.sleep(1.0)
    state.times["hold_sent"] = time.monotonic()
    await sig.send({"type": "hold", "call": "c1"})
    held = await next_for(sig, "c1", 10, "held")
    if held["type"] != "held":
        result["error"] = f"call 1 not held: {strip(held)}"
        return
    state.times["held1"] = held["_t"]

    answered = await place_call(sig, "c2", args.call2, args.browser_tone, args.answer_timeout, state)
    if answered["type"] != "answered":
        result["error"] = f"call 2 not answered: {strip(answered)}"
        return
    state.times["answered2"] = answered["_t"]
    await asyncio.sleep(args.transfer_at)
    state.times["transfer_sent"] = time.monotonic()
    await sig.send({"type": "transfer", "call": "c1", "replaces": "c2"})
    for number, path in ((1, args.phone1_join_file), (2, args.phone2_join_file)):
        if path:
            state.watchers.append(asyncio.ensure_future(follow_sdp(path, state.phones[number][1])))

    # Both calls end: transferred, then hangup 200 "transferred". An error
    # for either call means the transfer failed and both calls go on.
    ended, deadline = set(), time.monotonic() + 20
    while ended != {"c1", "c2"}:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result["error"] = f"no hangup for {sorted({'c1', 'c2'} - ended)} within 20 s of the transfer"
            break
        try:
            message = await sig.next(remaining)
        except (TimeoutError, asyncio.TimeoutError):
            continue
        if message["type"] == "_closed":
            result["error"] = "the WebSocket closed during the transfer"
            break
        if message["type"] == "error" and message.get("call") in (None, "c1", "c2"):
            result["error"] = f"the transfer failed: {strip(message)}"
            break
        if message["type"] == "hangup" and message.get("call") in ("c1", "c2"):
            ended.add(message["call"])
    if ended == {"c1", "c2"}:
        state.times["hangups"] = time.monotonic()
        result["transfer_to_hangups_s"] = round(state.times["hangups"] - state.times["transfer_sent"], 3)
        # The phones keep talking, now through the gateway's relay.
        await asyncio.sleep(args.listen)


async def cleanup(state):
    for watcher in state.watchers:
        watcher.cancel()
    for number in (1, 2):
        if number in state.phones:
            state.phones[number][3].cancel()
    for pc in state.pcs:
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception as error:
            log.warning("closing a peer connection failed: %r", error)
    for recorder in state.recorders:
        recorder.cancel()
    if state.ws is not None:
        try:
            await asyncio.wait_for(state.ws.close(), 5)
        except Exception as error:
            log.warning("closing the WebSocket failed: %r", error)
    for number in (1, 2):
        if number in state.phones:
            state.phones[number][0].close()


def window_report(proto, start, end=None):
    """phone_rx_report of the packets received from `start` on (until `end`)."""
    picked = [(p, s) for p, s in zip(proto.rx, proto.rx_sources)
              if p[0] >= start and (end is None or p[0] <= end)]
    return peer.phone_rx_report([p for p, _ in picked], TELEPHONE_EVENT, {s for _, s in picked})


def report(args, result, state):
    import numpy as np
    log_ = state.sig.log if state.sig is not None else []
    result["signaling"] = log_
    result["messages"] = log_  # the same list; BrowserPhone.messageTypes reads "signaling"
    result["hangups"] = [{"call": m.get("call"), "code": m.get("code"), "reason": m.get("reason")}
                         for m in log_ if m.get("type") == "hangup"]
    result["errors"] = [strip(m) for m in log_ if m.get("type") == "error"]
    result["transferred"] = [m.get("call") for m in log_ if m.get("type") == "transferred"]
    transferred = {m.get("call"): m["_t"] for m in log_ if m.get("type") == "transferred"}
    joined = max(transferred["c1"], transferred["c2"]) if {"c1", "c2"} <= set(transferred) else None
    if joined is None and "error" not in result:
        result["error"] = f"`transferred` did not come for both calls: {result['transferred']}"
    origin = state.times.get("transfer_sent")
    for number in (1, 2):
        if number not in state.phones:
            continue
        _, proto, phone, _ = state.phones[number]
        result[f"phone{number}_rx_joined"] = window_report(proto, joined + 0.5) if joined is not None else None
        # Sources in the order first heard, with seconds since the transfer went out.
        result[f"phone{number}_sources"] = [
            {"source": s, "since_transfer_s": round(t - origin, 3) if origin is not None else None}
            for t, s in proto.changes]
        result[f"phone{number}_sdp_dest"] = (
            {"dest": proto.sdp_dest[1], "since_transfer_s": round(proto.sdp_dest[0] - origin, 3)}
            if proto.sdp_dest is not None and origin is not None else None)
        result[f"phone{number}_tx"] = {"packets": phone.sent,
                                       "dest": f"{phone.dest[0]}:{phone.dest[1]}" if phone.dest else None}
    # Before the join each phone heard the browser (its 1 kHz tone).
    if 1 in state.phones and "answered1" in state.times and "hold_sent" in state.times:
        result["phone1_rx_before_hold"] = window_report(state.phones[1][1], state.times["answered1"] + 0.3,
                                                        state.times["hold_sent"])
    if 2 in state.phones and "answered2" in state.times and "transfer_sent" in state.times:
        result["phone2_rx_before_transfer"] = window_report(state.phones[2][1], state.times["answered2"] + 0.3,
                                                            state.times["transfer_sent"])
    for number, call in ((1, "c1"), (2, "c2")):
        store = state.stores.get(call)
        if store is None:
            continue
        rate = store["rate"] or 48000
        samples = np.concatenate(store["chunks"]) if store["chunks"] else np.zeros(0)
        result[f"browser{number}_rx"] = peer.analyse(samples, rate, skip=1.0)


async def run(args, result):
    state = types.SimpleNamespace(phones={}, pcs=[], stores={}, recorders=[], ws=None, sig=None, times={},
                                  watchers=[])
    try:
        await flow(args, result, state)
    finally:
        await cleanup(state)
        report(args, result, state)


async def main(args):
    result = {}
    try:
        await asyncio.wait_for(run(args, result), args.timeout)
    except Exception as error:  # reported, not raised: the Swift test prints it
        log.exception("peer failed")
        result["error"] = f"{type(error).__name__}: {error}"
    peer.emit({"result": result})


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ws", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--call1", required=True, help="the number of the first call (held, then REFERred)")
    p.add_argument("--call2", required=True, help="the number of the second call (the one replaced)")
    p.add_argument("--phone1-port", type=int, required=True, help="the RTP port the first far end's SDP names")
    p.add_argument("--phone2-port", type=int, required=True, help="the RTP port the second far end's SDP names")
    p.add_argument("--phone1-join-file", help="the file uas_refuses_refer.xml's -key join_file names")
    p.add_argument("--phone2-join-file", help="the file uas_joined.xml's -key join_file names")
    p.add_argument("--phone1-tone", type=float, default=440.0)
    p.add_argument("--phone2-tone", type=float, default=660.0)
    p.add_argument("--browser-tone", type=float, default=1000.0)
    p.add_argument("--transfer-at", type=float, default=2.0, help="seconds after the second answer")
    p.add_argument("--listen", type=float, default=3.0,
                   help="seconds the phones keep talking after both calls' hangups")
    p.add_argument("--answer-timeout", type=float, default=15.0)
    p.add_argument("--timeout", type=float, default=60.0, help="the whole run")
    return p.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    arguments = parse_args()
    # Last resort: if the event loop itself wedges, still answer and exit.
    hard = arguments.timeout + 15

    def _die():
        peer.emit({"result": {"error": f"hard timeout after {hard} s"}})
        os._exit(3)
    watchdog = threading.Timer(hard, _die)
    watchdog.daemon = True
    watchdog.start()
    asyncio.run(main(arguments))
    watchdog.cancel()
