#!/usr/bin/env python3
"""Loads an HTML report in headless Chromium at a given viewport width, the way a phone or a desktop shows it,
through the DevTools protocol over a pipe (no network, no port): the window of a headless Chromium is never
narrower than 500 px, so a phone's 390 px needs the protocol's device-metrics override. Waits for the page's
success or error marker, saves a screenshot of the top of the page, and prints the marker's text (or
"ERROR: ..." for a script error).

usage: report-browser.py CHROMIUM URL WIDTH HEIGHT SCREENSHOT.png
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, exe, profile):
        self.to_chrome_r, self.to_chrome_w = os.pipe()
        self.from_chrome_r, self.from_chrome_w = os.pipe()

        def child_fds():  # the protocol pipe is fds 3 (commands in) and 4 (replies out)
            a, b = os.dup(self.to_chrome_r), os.dup(self.from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe",
             "--user-data-dir=" + profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False,
            preexec_fn=child_fds)
        os.close(self.to_chrome_r)
        os.close(self.from_chrome_w)
        self.next_id = 0
        self.buffer = b""

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_chrome_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed the protocol pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise RuntimeError(f"{method}: no reply in {timeout} s")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


MARKER = """(function () {
  var e = document.getElementById('versus-report-error');
  if (e) return 'ERROR: ' + e.textContent;
  var ok = document.getElementById('versus-report-ok');
  return ok ? ok.textContent : '';
})()"""


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    exe, url, width, height, shot = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(exe, profile)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, s)
            b.call("Page.navigate", {"url": url}, s)
            marker, deadline = "", time.time() + 30
            while not marker and time.time() < deadline:
                time.sleep(0.1)
                marker = b.call("Runtime.evaluate", {"expression": MARKER, "returnByValue": True}, s)["result"].get(
                    "value", "")
            if marker:
                png = b.call("Page.captureScreenshot",
                             {"format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, s)
                with open(shot, "wb") as f:
                    f.write(base64.b64decode(png["data"]))
        finally:
            b.close()
    print(marker or "ERROR: no marker: the report's script did not finish")


if __name__ == "__main__":
    main()
