#!/usr/bin/env python3
"""A person with headless Chromium using the web phone, end to end.

Runs inside a network namespace that has only loopback (the caller starts it
with `unshare --net`), so Chromium cannot reach anything but this machine:
starts `tieline serve` with a config of its own, sipp as the trunk (answering
with PCMU and echoing RTP), then drives the page with selenium: logs in,
dials, waits for the call, reads getStats, takes a screenshot in call state,
hangs up. Prints one JSON line {"result": {...}}; failures go in result.error.

  chromium_phone.py --tieline BIN --scenario uas_answer.xml --screenshot OUT.png
"""

import argparse
import json
import math
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import wave

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tone_wav(path, hertz=1000, seconds=10, rate=48000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(16000 * math.sin(2 * math.pi * hertz * i / rate)))
                               for i in range(rate * seconds)))


def wait_for_line(process, needle, timeout):
    deadline, seen = time.time() + timeout, []
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return seen
    raise RuntimeError(f"no '{needle}' from tieline: {''.join(seen)[-2000:]}")


def run(args, result, work):
    sip_port, trunk_port, https_port = free_port(), free_port(), free_port(socket.SOCK_STREAM)
    media_port = free_port()
    config = os.path.join(work, "tieline.yaml")
    # The repository's default dialplan: this file is Tests/WebRTCTests/Peers/ in it.
    dialplan = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "dialplans", "default.lua")
    with open(config, "w") as f:
        f.write(f"""
data_directory: {work}/data
sip:
  listen: [{{ transport: udp, address: "127.0.0.1:{sip_port}" }}]
  public_address: 127.0.0.1
media: {{ rtp_ports: "46000-46199", public_address: 127.0.0.1, bind_address: 127.0.0.1 }}
users: [{{ name: alice, password: "alice-browser-secret" }}]
trunks: [{{ name: carrier, address: 127.0.0.1, port: {trunk_port} }}]
web: {{ https: "127.0.0.1:{https_port}", http: off }}
dialplan: {os.path.normpath(dialplan)}
routing: {{ home_country: "1" }}
""")
    gateway = subprocess.Popen([args.tieline, "serve", "--config", config], stdout=subprocess.PIPE,
                               stderr=open(os.path.join(work, "tieline.log"), "w"), text=True)
    sipp = None
    driver = None
    try:
        wait_for_line(gateway, "Web phone:", 30)
        sipp = subprocess.Popen(["sipp", "-sf", os.path.abspath(args.scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1",
                                 "-p", str(trunk_port), "-mp", str(media_port), "-rtp_echo", "-m", "1",
                                 "-key", "phone_port", str(media_port),
                                 "-nostdin", "-cp", str(free_port()), "-timeout", "60", "-timeout_error",
                                 "-trace_err", "-error_file", os.path.join(work, "sipp-errors.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
        tone = os.path.join(work, "tone1k.wav")
        tone_wav(tone)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/lib/chromium/chromium"
        for flag in ["--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={tone}",
                     "--allow-loopback-in-peer-connection", f"--user-data-dir={work}/profile",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--ignore-certificate-errors",
                     "--mute-audio", "--window-size=480,900", "--disable-gpu", "--no-first-run"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.get(f"https://127.0.0.1:{https_port}/")
        driver.find_element(By.ID, "user").send_keys("alice")
        driver.find_element(By.ID, "password").send_keys("alice-browser-secret")
        driver.find_element(By.ID, "login").click()
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "connection").text.strip().startswith("connected"))
        result["connection"] = driver.find_element(By.ID, "connection").text
        driver.find_element(By.ID, "number").send_keys("+15551234567")
        driver.find_element(By.ID, "call").click()
        wait.until(lambda d: d.find_element(By.ID, "status").text.strip().startswith("in call"))
        result["status_in_call"] = driver.find_element(By.ID, "status").text
        time.sleep(args.talk)
        if args.hold:
            # The Hold button: the far end is told (sipp checks the re-INVITE), the
            # status says so, and the same button resumes the call.
            driver.find_element(By.ID, "hold").click()
            wait.until(lambda d: d.find_element(By.ID, "status").text.strip().startswith("on hold"))
            result["status_on_hold"] = driver.find_element(By.ID, "status").text
            result["hold_button_on_hold"] = driver.find_element(By.ID, "hold").text
            time.sleep(1.0)
            driver.find_element(By.ID, "hold").click()
            wait.until(lambda d: d.find_element(By.ID, "status").text.strip().startswith("in call"))
            result["status_resumed"] = driver.find_element(By.ID, "status").text
            time.sleep(1.0)
        stats = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            window.tieline.stats().then(report => {
              const out = {};
              report.forEach(s => {
                if ((s.type === 'inbound-rtp' || s.type === 'outbound-rtp') && s.kind === 'audio') {
                  out[s.type] = {packets: s.packetsReceived ?? s.packetsSent, bytes: s.bytesReceived ?? s.bytesSent,
                                 audioLevel: s.audioLevel ?? null, totalAudioEnergy: s.totalAudioEnergy ?? null};
                }
                if (s.type === 'codec') { out.codecs = (out.codecs || []).concat([s.mimeType]); }
              });
              done(out);
            }).catch(e => done({error: String(e)}));
        """)
        result["stats"] = stats
        driver.save_screenshot(args.screenshot)
        result["screenshot"] = args.screenshot
        driver.find_element(By.ID, "hangup").click()
        wait.until(lambda d: d.find_element(By.ID, "status").text.strip().startswith("ended"))
        result["status_after_hangup"] = driver.find_element(By.ID, "status").text
        result["sipp_status"] = sipp.wait(timeout=20)
    finally:
        if driver is not None:
            driver.quit()
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
        gateway.terminate()
        try:
            gateway.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gateway.kill()
        result["gateway_exit"] = gateway.returncode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tieline", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--screenshot", required=True)
    p.add_argument("--talk", type=float, default=3.0)
    p.add_argument("--hold", action="store_true", help="hold and resume with the Hold button (the scenario must take re-INVITEs)")
    args = p.parse_args()
    result = {}
    with tempfile.TemporaryDirectory(prefix="tieline-chromium-") as work:
        try:
            run(args, result, work)
        except Exception as error:
            result["error"] = f"{type(error).__name__}: {error}"
            result["trace"] = traceback.format_exc()[-3000:]
            log = os.path.join(work, "tieline.log")
            if os.path.exists(log):
                result["tieline_log"] = open(log).read()[-3000:]
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
