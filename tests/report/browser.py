"""A real headless Chromium for the report tests, driven over the DevTools protocol (CDP).

How "no request leaves the machine" is proved:
- CDP's ``Network.requestWillBeSent`` reports every request the *page* makes (fonts, scripts,
  images, CSS ``url()``, fetches); the test asserts there is none besides the file itself and
  ``data:`` URLs. CSP violations (a fetch the page's own policy blocked) arrive as ``Log`` entries
  and are collected too. A control test loads a page that does fetch remote things and checks that
  they are seen, so the probe is known to work.
- Chromium also talks to Google on its own (time, component updates, accounts) whatever the page
  does. So that nothing leaves the machine even then, it runs behind a proxy on loopback that
  answers every request with 403 (``--proxy-bypass-list=<-loopback>``: no exception at all).

CDP runs over ``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-terminated JSON), so no
port is opened and no websocket library is needed.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import selectors
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--no-default-browser-check", "--disable-breakpad", "--hide-scrollbars",
]


class _Trap(http.server.BaseHTTPRequestHandler):
    def _refuse(self):
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = do_CONNECT = _refuse

    def log_message(self, *args):
        pass


class _TrapServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Page:
    """What one page load showed: the DOM after load, the requests it made, console/CSP messages, a PNG."""

    dom: str
    requests: list[str]
    log: list[str]
    png: bytes | None = None
    values: dict = field(default_factory=dict)  # results of the ``probes`` expressions, by name
    browser_requests: list[str] = field(default_factory=list)  # Chromium's own, caught by the loopback trap

    @property
    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("data:", "file:", "about:"))]

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.log if "Content Security Policy" in m or "Content-Security-Policy" in m]


class CDPError(AssertionError):
    pass


class _Pipe:
    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int):
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []
        self.sel = selectors.DefaultSelector()
        self.sel.register(read_fd, selectors.EVENT_READ)

    def _read_message(self, deadline: float) -> dict | None:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(timeout=left):
                return None
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise CDPError("chromium closed the DevTools pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply is None:
                raise CDPError(f"no answer to {method} within {timeout}s")
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            ev = self._read_message(deadline)
            if ev is None:
                raise CDPError(f"no {method} within {timeout}s")
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (ev := self._read_message(deadline)) is not None:
            self.events.append(ev)


class Chromium:
    """Loads local files in /usr/bin/chromium (headless) and reports what each page did."""

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def load(self, page: Path, *, width: int = 1200, height: int = 900, screenshot: bool = False,
             probes: dict[str, str] | None = None, timeout: float = 60) -> Page:
        """Load ``page``; ``probes`` are JavaScript expressions the test evaluates afterwards (over CDP,
        so the page's own CSP, which forbids scripts, does not apply to them)."""
        trap = _TrapServer(("127.0.0.1", 0), _Trap)
        trap.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=trap.serve_forever, daemon=True).start()
        profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=self.workdir))
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def child_fds():  # Chromium reads commands on fd 3 and writes answers on fd 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)  # fresh numbers first: the pipes may sit on 3 or 4
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = [
            str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
            f"--proxy-server=http://127.0.0.1:{trap.server_address[1]}", "--proxy-bypass-list=<-loopback>",
            f"--window-size={width},{height}", "about:blank",
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        pipe = _Pipe(proc, to_chrome_w, from_chrome_r)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            sid = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Network", "Page", "Log", "Runtime"):
                pipe.call(f"{domain}.enable", session=sid)
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            pipe.call("Page.navigate", {"url": page.resolve().as_uri()}, session=sid)
            pipe.wait_for("Page.loadEventFired", timeout=timeout)
            pipe.drain(0.5)  # late requests (lazy images, fonts) would show up here
            dom = pipe.call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML", "returnByValue": True},
                            session=sid)["result"]["value"]
            values = {}
            for name, expr in (probes or {}).items():
                res = pipe.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
                if "exceptionDetails" in res:
                    raise CDPError(f"probe {name!r} failed: {res['exceptionDetails'].get('text')}")
                values[name] = res["result"].get("value")
            png = None
            if screenshot:
                shot = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=sid)
                png = base64.b64decode(shot["data"])
            requests = [ev["params"]["request"]["url"] for ev in pipe.events if ev.get("method") == "Network.requestWillBeSent"]
            log = [ev["params"]["entry"]["text"] for ev in pipe.events if ev.get("method") == "Log.entryAdded"]
            log += [json.dumps(ev["params"].get("args"), ensure_ascii=False) for ev in pipe.events
                    if ev.get("method") == "Runtime.consoleAPICalled"]
            try:
                pipe.call("Browser.close", timeout=10)
            except CDPError:
                pass
            return Page(dom, requests, log, png, values, list(trap.seen))  # type: ignore[attr-defined]
        finally:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_chrome_w)
            os.close(from_chrome_r)
            trap.shutdown()
            trap.server_close()
            shutil.rmtree(profile, ignore_errors=True)


def require_chromium() -> Chromium:
    """The browser, or a failed test that says how to install it (never a skip)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the report is checked in a real headless Chromium. "
            "Run .ci/run (it installs Debian's chromium) or `apt-get install -y chromium`."
        )
    return Chromium(Path(tempfile.gettempdir()))
