#!/usr/bin/env python3
"""Test peer for whole calls through Tieline: a browser AND a phone.

The browser is an aiortc RTCPeerConnection that logs in to the gateway over
WSS (signaling-protocol.md) and places or answers a call, sending a tone and
recording what it hears. The phone is a plain RTP socket on 127.0.0.1 whose
port the trunk side (sipp) advertises in its SDP: it waits for the gateway's
first packet, then answers with its own tone (symmetric RTP), and records.

  browser_phone.py --ws wss://127.0.0.1:P/ws --user alice --password pw \
      [--phone-port N] (--call NUMBER | --answer) [--hangup-after S] ...

Without --phone-port there is no phone side: for calls the gateway answers
itself (the dialplan's echo test, tones, menus), where the browser alone
sends its tone and digits (--dtmf) and records what it hears.

Prints one JSON line {"result": {...}} and exits 0; handled failures go in
result.error. Logging goes to stderr.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_peer as peer  # noqa: E402  (tone, codecs, analysis, the RTP phone)

import websockets  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

log = logging.getLogger("browser_phone")


class Signaling:
    """The browser's WebSocket: JSON messages in, a queue of messages out."""

    def __init__(self, ws):
        self.ws, self.queue, self.log = ws, asyncio.Queue(), []
        self.reader = asyncio.ensure_future(self.read())
        self.closed_at, self.close_code = None, None

    async def read(self):
        try:
            async for text in self.ws:
                message = json.loads(text)
                message["_t"] = time.monotonic()
                self.log.append({k: v for k, v in message.items() if k != "sdp"})
                await self.queue.put(message)
        except websockets.ConnectionClosed:
            pass
        self.closed_at = time.monotonic()
        self.close_code = self.ws.close_code
        await self.queue.put({"type": "_closed"})

    async def send(self, message):
        await self.ws.send(json.dumps(message))

    async def next(self, timeout, *types_):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {types_} within {timeout} s")
            message = await asyncio.wait_for(self.queue.get(), remaining)
            if not types_ or message["type"] in types_ or message["type"] == "_closed":
                return message


async def gathered_offer(pc):
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


async def run(args, result):
    phone_args = types.SimpleNamespace(
        phone_codec=args.phone_codec, phone_ptime=20, seed=1, duration=args.duration,
        connect_timeout=10, phone_tone=args.phone_tone, phone_loss=0.0, telephone_event=101, dtmf_ms=args.dtmf_ms)
    loop = asyncio.get_running_loop()
    transport, proto, phone = None, None, None
    if args.phone_port is not None:
        transport, proto = await loop.create_datagram_endpoint(peer.PhoneProtocol,
                                                               local_addr=("127.0.0.1", args.phone_port))
        phone = peer.Phone(phone_args, proto)

    async def phone_audio():
        # Symmetric RTP: send back to wherever the gateway's RTP comes from.
        while not proto.sources:
            await asyncio.sleep(0.005)
        host, port = sorted(proto.sources)[0].rsplit(":", 1)
        phone.dest = (host, int(port))
        await phone.run_audio()

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tone = peer.ToneTrack(args.browser_tone)
    tone.stereo = True
    store = {"frames": 0, "rate": None, "rate_changes": 0, "chunks": [], "end": 0, "origin": None, "gap_samples": 0}
    recorders = []

    @pc.on("track")
    def on_track(track):
        recorders.append(asyncio.ensure_future(peer.record_track(track, store)))

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    ws = await websockets.connect(args.ws, ssl=context if args.ws.startswith("wss:") else None,
                                  subprotocols=["tieline.v1"], max_size=2 ** 20)
    sig = Signaling(ws)
    await sig.send({"type": "login", "user": args.user, "password": args.password})
    welcome = await sig.next(10, "welcome", "error")
    if welcome["type"] != "welcome":
        result["error"] = f"login failed: {welcome}"
        return
    phone_task = asyncio.ensure_future(phone_audio()) if phone is not None else None
    call_id = None
    if args.call:
        call_id = "c1"
        pc.addTrack(tone)
        offer = await gathered_offer(pc)
        await sig.send({"type": "call", "call": call_id, "to": args.call, "sdp": offer})
        while True:
            message = await sig.next(args.answer_timeout, "trying", "ringing", "progress", "answered", "hangup", "error")
            if message["type"] in ("hangup", "error", "_closed"):
                result["ended"] = message
                break
            if message["type"] in ("ringing", "progress") and args.leave_while_ringing is not None:
                # The tab goes away (or the user hangs up) before the answer.
                await asyncio.sleep(args.leave_while_ringing)
                if args.leave_by == "close":
                    await ws.close()
                else:
                    await sig.send({"type": "hangup", "call": call_id})
                result["left_while_ringing"] = args.leave_by
                await asyncio.sleep(0.5)
                break
            if message["type"] in ("progress", "answered") and pc.remoteDescription is None:
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
            if message["type"] == "progress":
                result["progress_sdp"] = message["sdp"]
            if message["type"] == "answered":
                result["answered_at"] = message["_t"]
                # Audio heard before the answer is early media (a 183's ringback).
                result["frames_before_answer"] = store["frames"]
                result["answer_sdp_repeats_progress"] = message["sdp"] == result.get("progress_sdp", message["sdp"])
                result.pop("progress_sdp", None)
                break
    else:
        incoming = await sig.next(args.answer_timeout, "incoming")
        if incoming["type"] != "incoming":
            result["error"] = f"no incoming call: {incoming}"
            return
        call_id = incoming["call"]
        result["incoming"] = {k: v for k, v in incoming.items() if k not in ("sdp", "_t")}
        await sig.send({"type": "ringing", "call": call_id})
        await asyncio.sleep(args.answer_delay)
        await pc.setRemoteDescription(RTCSessionDescription(incoming["sdp"], "offer"))
        pc.addTrack(tone)
        await pc.setLocalDescription(await pc.createAnswer())
        await sig.send({"type": "answer", "call": call_id, "sdp": pc.localDescription.sdp})
        confirmed = await sig.next(10, "answered", "hangup")
        if confirmed["type"] != "answered":
            result["ended"] = confirmed
        else:
            result["answered_at"] = confirmed["_t"]
    if "answered_at" in result:
        async def dtmf():
            # Digits both ways once media flows: from the browser as messages,
            # from the phone as RFC 4733 events in its RTP.
            await asyncio.sleep(args.dtmf_delay)
            if args.dtmf_to_phone:
                await sig.send({"type": "dtmf", "call": call_id, "digits": args.dtmf_to_phone, "duration": args.dtmf_ms})
            if args.dtmf_from_phone and phone is not None:
                await phone.run_dtmf(args.dtmf_from_phone)
        dtmf_task = asyncio.ensure_future(dtmf())

        async def hold():
            # The browser holds the call, then resumes it (seconds after the answer).
            if args.hold_at is not None:
                await asyncio.sleep(args.hold_at)
                result["hold_sent_at"] = time.monotonic()
                await sig.send({"type": "hold", "call": call_id})
            if args.unhold_at is not None:
                await asyncio.sleep(max(0.0, args.unhold_at - (args.hold_at or 0.0)))
                result["unhold_sent_at"] = time.monotonic()
                await sig.send({"type": "unhold", "call": call_id})
            if args.transfer_to:
                await asyncio.sleep(args.transfer_at)
                result["transfer_sent_at"] = time.monotonic()
                await sig.send({"type": "transfer", "call": call_id, "to": args.transfer_to})
        hold_task = asyncio.ensure_future(hold())
        if args.hangup_after is not None:
            await asyncio.sleep(args.hangup_after)
            result["hangup_sent_at"] = time.monotonic()
            await sig.send({"type": "hangup", "call": call_id})
            await asyncio.sleep(1.0)
        else:
            ended = await sig.next(args.duration + 30, "hangup")
            result["ended"] = ended
            result["hangup_received_after_answer_s"] = round(ended.get("_t", time.monotonic()) - result["answered_at"], 3)
        dtmf_task.cancel()
        hold_task.cancel()
    if phone_task is not None:
        phone_task.cancel()
    await pc.close()
    for recorder in recorders:
        recorder.cancel()
    await ws.close()
    if transport is not None:
        transport.close()
    rate = store["rate"] or 48000
    import numpy as np
    samples = np.concatenate(store["chunks"]) if store["chunks"] else np.zeros(0)
    result["browser_rx"] = peer.analyse(samples, rate, skip=1.0)
    # The end of the call alone (what was heard after a hold was resumed, say).
    result["browser_rx_last_second"] = peer.analyse(samples[-int(1.2 * rate):-int(0.2 * rate)], rate, skip=0)
    # No phone side: nothing to report (a test asserting on it fails plainly).
    result["phone_rx"] = peer.phone_rx_report(proto.rx, 101, proto.sources) if proto is not None else None
    result["phone_tx"] = {"packets": phone.sent} if phone is not None else None
    result["signaling"] = sig.log
    result["dtmf_messages"] = "".join(m.get("digit", "") for m in sig.log if m.get("type") == "dtmf")
    if proto is not None and "hold_sent_at" in result:
        # What the phone heard while held (from the `held` answer until the
        # `unhold` went out) and after the resume (from `unheld` on).
        held = next((m["_t"] for m in sig.log if m.get("type") == "held"), None)
        unheld = next((m["_t"] for m in sig.log if m.get("type") == "unheld"), None)
        until = result.get("unhold_sent_at", time.monotonic())
        if held is not None:
            window = [p for p in proto.rx if held + 0.4 <= p[0] <= until - 0.1]
            result["phone_rx_held"] = peer.phone_rx_report(window, 101, proto.sources)
        if unheld is not None:
            window = [p for p in proto.rx if p[0] >= unheld + 0.4]
            result["phone_rx_resumed"] = peer.phone_rx_report(window, 101, proto.sources)
        if held is not None:
            before = [p for p in proto.rx if p[0] <= result["hold_sent_at"]]
            result["phone_rx_before_hold"] = peer.phone_rx_report(before, 101, proto.sources)
    if "answered_at" in result:
        result.pop("answered_at")


async def main(args):
    result = {}
    try:
        await asyncio.wait_for(run(args, result), args.duration + 60)
    except Exception as error:  # reported, not raised: the Swift test prints it
        log.exception("peer failed")
        result["error"] = f"{type(error).__name__}: {error}"
    for key in [k for k in result if k.endswith("_at")]:
        result.pop(key)
    if isinstance(result.get("ended"), dict):
        result["ended"].pop("_t", None)
    peer.emit({"result": result})


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--ws", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--phone-port", type=int,
                   help="the phone's RTP port (the trunk's SDP names it); leave out for calls without a phone side")
    p.add_argument("--phone-codec", default="PCMU")
    p.add_argument("--call")
    p.add_argument("--answer", action="store_true")
    p.add_argument("--hangup-after", type=float, help="the browser hangs up this many seconds after the answer")
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--answer-timeout", type=float, default=15.0)
    p.add_argument("--browser-tone", type=float, default=1000.0)
    p.add_argument("--phone-tone", type=float, default=440.0)
    p.add_argument("--dtmf-to-phone", "--dtmf", dest="dtmf_to_phone", default="",
                   help="digits the browser sends as dtmf messages after the answer (to the phone, or to the "
                        "gateway's own menu)")
    p.add_argument("--dtmf-delay", type=float, default=1.0,
                   help="seconds after the answer before the browser sends its digits")
    p.add_argument("--dtmf-from-phone", default="", help="digits the phone sends as RFC 4733 events")
    p.add_argument("--dtmf-ms", type=int, default=160)
    p.add_argument("--hold-at", type=float, help="the browser sends hold this many seconds after the answer")
    p.add_argument("--unhold-at", type=float, help="the browser sends unhold this many seconds after the answer")
    p.add_argument("--leave-while-ringing", type=float, help="seconds after ringing/progress to leave the call")
    p.add_argument("--transfer-to", help="the browser sends transfer to this target after the answer")
    p.add_argument("--transfer-at", type=float, default=1.0, help="seconds after the answer (or the unhold)")
    p.add_argument("--answer-delay", type=float, default=0.0, help="seconds between incoming and answer")
    p.add_argument("--leave-by", choices=["close", "hangup"], default="hangup")
    args = p.parse_args(argv)
    if args.dtmf_from_phone and args.phone_port is None:
        p.error("--dtmf-from-phone needs a phone side (--phone-port)")
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(parse_args()))
