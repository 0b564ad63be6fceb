"""Everything a browser session sends, captured three ways, and a search for secrets in it.

- CDP: one DevTools connection auto-attaches (flatten) to every target, recursively: the
  page (with its in-process frames, the host and the sandbox), and each Worker, including
  the blob Worker nested in the sandbox. `Network.enable` on every session records each
  HTTP request (URL, headers, body) and each WebSocket frame sent.
- NetLog: Chromium's own log of its network stack, with the bytes written to each socket
  (`--net-log-capture-mode=Everything`).

Secrets are searched raw and as base64 (each of the three byte alignments, standard and
URL-safe alphabets), hex and URL encoding.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser
from websockets.sync.client import connect

from collector import LOOPBACK_AS_PUBLIC
from helpers import CHROMIUM, CHROMIUM_FLAGS, free_port


def encodings(secret: str | bytes) -> dict[str, bytes]:
    """The forms in which `secret` could travel, each as the bytes to look for."""
    raw = secret if isinstance(secret, bytes) else secret.encode()
    forms = {
        "raw": raw,
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "url": urllib.parse.quote(raw, safe="").encode(),
        "url+": urllib.parse.quote_plus(raw, safe="").encode(),
    }
    for align in range(3):
        # Inside a longer base64 stream the secret starts at any offset mod 3. Skip the
        # characters that mix in the preceding bytes and the last group, which mixes in
        # the following ones: what remains depends on the secret alone.
        encoded = base64.b64encode(b"\0" * align + raw)
        core = encoded[(align * 4 + 2) // 3: -4]
        forms[f"base64/{align}"] = core
        forms[f"base64url/{align}"] = core.replace(b"+", b"-").replace(b"/", b"_")
    return forms


def find(secret: str | bytes, haystack: bytes) -> list[str]:
    """The encodings of `secret` found in `haystack`."""
    return [name for name, needle in encodings(secret).items() if needle in haystack]


# How many neighbouring values of a file make a leak: 12 random values in a row are the file's
# own (no two runs of the canaries share their order by chance: 12! orders).
RUN = 12
NUMBER = rb"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
NUMBERS = re.compile(NUMBER)
# RUN or more numbers separated by commas (a JSON array, a CSV row, a query string's list),
# found by the regex engine: a capture holds millions of numbers that are not in such a run.
NUMBER_RUN = re.compile(rb"(?:%s\s*,\s*){%d,}%s" % (NUMBER, RUN - 1, NUMBER))


def number_runs(haystack: bytes) -> list[list[float]]:
    """Every run of at least RUN numbers separated by commas."""
    return [[float(n) for n in NUMBERS.findall(m.group())] for m in NUMBER_RUN.finditer(haystack)]


def find_parsed(number: str, haystack: bytes) -> list[str]:
    """Where the float32 that `number` parses to is in `haystack` as a number in text, in any
    printing of it (the CSV's text is found by `find`)."""
    want = np.float32(float(number))
    # Its float32 neighbours, as Python floats: every printing of the float32 lies between them.
    low, high = (float(np.nextafter(want, np.float32(direction))) for direction in (-np.inf, np.inf))
    # Only the numbers that can print it: its whole part, fixed or in scientific notation.
    whole = number.split(".")[0]
    printed = re.compile(rb"(?<![\d.])%s\.\d+|(?<![\d.])%s\.%s\d*[eE]\+?0*%d(?!\d)"
                         % (whole.encode(), whole[0].encode(), whole[1:].encode(), len(whole) - 1))
    for m in printed.finditer(haystack):
        if low < float(m.group()) < high:
            return ["float32"]
    return []


def find_values(values: np.ndarray, haystack: bytes) -> list[str]:
    """Where a run of `values` (integers read from a file) is in `haystack`: as its bytes (raw,
    base64, hex), or as numbers in text under any a*x+b (scaled, normalized, windowed, inverted),
    as a model's input or an output that copies it would carry them."""
    found = []
    for align in range(len(values) - RUN + 1)[:64:4]:  # a run from anywhere in the first rows
        found += [f"{name}@{align}" for name in find(values[align:align + RUN].tobytes(), haystack)]
    # Numbers: a run's order identifies it (ties broken alike), as one integer per window for
    # numpy to compare; the affine map is then checked where the orders agree.
    def orders(windows: np.ndarray) -> np.ndarray:
        return np.argsort(windows, axis=1, kind="stable") @ (RUN ** np.arange(RUN, dtype=np.int64))

    own = np.lib.stride_tricks.sliding_window_view(values.astype(np.float64), RUN)
    known = {int(code): start for sign in (1, -1) for start, code in enumerate(orders(sign * own))}
    codes = np.fromiter(known, dtype=np.int64)
    for numbers in number_runs(haystack):
        windows = np.lib.stride_tricks.sliding_window_view(np.asarray(numbers), RUN)
        for start in np.flatnonzero(np.isin(orders(windows), codes)):
            got, want = windows[start], own[known[int(orders(windows[start:start + 1])[0])]]
            slope, intercept = np.polyfit(want, got, 1)
            if slope != 0 and np.allclose(slope * want + intercept, got, rtol=1e-4, atol=1e-6 * np.abs(got).max()):
                return found + ["numbers"]
    return found


@dataclass
class Capture:
    """What left the browser, by the source that saw it."""

    targets: list[dict] = field(default_factory=list)  # every target attached, with its type and URL
    requests: list[dict] = field(default_factory=list)  # Network.requestWillBeSent, with the target type
    http: bytearray = field(default_factory=bytearray)  # URLs, headers and bodies of every request
    http_by_target: dict[str, bytearray] = field(default_factory=dict)
    websocket: bytearray = field(default_factory=bytearray)  # payloads of every frame sent
    websocket_frames: int = 0
    netlog: bytes = b""  # the NetLog file, plus every socket byte it holds, decoded
    errors: list[str] = field(default_factory=list)  # failures of the recorder itself

    def sources(self) -> dict[str, bytes]:
        return {"cdp-http": bytes(self.http), "cdp-websocket": bytes(self.websocket), "netlog": self.netlog}

    def leaks(self, secret: str) -> dict[str, list[str]]:
        """Where `secret` was seen: source -> encodings."""
        return {source: found for source, data in self.sources().items() if (found := find(secret, data))}

    def parsed_leaks(self, number: str) -> dict[str, list[str]]:
        """Where the value parsed from `number` was seen: source -> encodings."""
        return {source: found for source, data in self.sources().items() if (found := find_parsed(number, data))}

    def value_leaks(self, values: np.ndarray) -> dict[str, list[str]]:
        """Where a run of `values` was seen: source -> encodings."""
        return {source: found for source, data in self.sources().items() if (found := find_values(values, data))}


class CdpRecorder:
    """A second DevTools client, next to Playwright's, that sees every target's network."""

    def __init__(self, port: int, capture: Capture) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10) as r:
            url = json.load(r)["webSocketDebuggerUrl"]
        self.capture = capture
        self.exits = ExitStack()
        self.ws = self.exits.enter_context(connect(url, max_size=None, open_timeout=10))
        self.ids = itertools.count(1)
        self.send_lock = threading.Lock()
        self.lock = threading.Lock()
        self.session_type: dict[str, str] = {}
        self.post_data_calls: dict[int, str] = {}
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self._attach_children(None)

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        with self.send_lock:
            self.ws.send(json.dumps(message))
        return message_id

    def _attach_children(self, session: str | None) -> None:
        # Each new target waits for us (waitForDebuggerOnStart) until its network is recorded.
        self._send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}, session)

    def _read(self) -> None:
        while True:
            try:
                text = self.ws.recv()
            except Exception:  # the connection closes with the browser
                return
            try:
                self._on_message(json.loads(text))
            except Exception as e:  # recorded, not raised: a dead reader would stall every new target
                self.capture.errors.append(repr(e))

    def _on_message(self, message: dict) -> None:
        method, params, session = message.get("method"), message.get("params", {}), message.get("sessionId")
        if "id" in message and message["id"] in self.post_data_calls:
            target = self.post_data_calls.pop(message["id"])
            self._record_http(target, message.get("result", {}).get("postData", ""))
            return
        if method == "Target.attachedToTarget":
            child, info = params["sessionId"], params["targetInfo"]
            with self.lock:
                self.session_type[child] = info["type"]
                self.capture.targets.append({"type": info["type"], "url": info["url"]})
            self._send("Network.enable", {}, child)
            self._attach_children(child)
            self._send("Runtime.runIfWaitingForDebugger", {}, child)
            return
        target = self.session_type.get(session or "", "browser")
        if method == "Network.requestWillBeSent":
            request = params["request"]
            with self.lock:
                self.capture.requests.append({"target": target, "url": request["url"], "method": request["method"]})
            parts = [request["url"], json.dumps(request.get("headers", {})), request.get("postData", "")]
            parts += [base64.b64decode(e.get("bytes", "")).decode("latin-1") for e in request.get("postDataEntries", [])]
            self._record_http(target, *parts)
            if request.get("hasPostData") and "postData" not in request and "postDataEntries" not in request:
                call = self._send("Network.getRequestPostData", {"requestId": params["requestId"]}, session)
                self.post_data_calls[call] = target
        elif method in ("Network.requestWillBeSentExtraInfo", "Network.webSocketWillSendHandshakeRequest"):
            headers = params.get("headers") or params.get("request", {}).get("headers", {})
            self._record_http(target, json.dumps(headers))
        elif method == "Network.webSocketFrameSent":
            frame = params["response"]
            payload = frame["payloadData"]
            # Binary frames (Streamlit's protobuf) arrive base64-encoded: search their bytes.
            data = base64.b64decode(payload) if frame.get("opcode") == 2 else payload.encode()
            with self.lock:
                self.capture.websocket += data + b"\n"
                self.capture.websocket_frames += 1

    def _record_http(self, target: str, *parts: str) -> None:
        data = "\n".join(parts).encode("utf-8", "surrogateescape") + b"\n"
        with self.lock:
            self.capture.http += data
            self.capture.http_by_target.setdefault(target, bytearray()).extend(data)

    def close(self) -> None:
        self.exits.close()
        self.thread.join(5)


def read_netlog(path: Path) -> bytes:
    """The NetLog as text, followed by the decoded bytes of every socket read and write."""
    text = path.read_text(errors="replace")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        # A log cut short by a crash lacks its closing brackets; the events are still there.
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    socket_bytes = [
        base64.b64decode(event["params"]["bytes"]) for event in log.get("events", []) if "bytes" in event.get("params", {})
    ]
    assert log.get("events"), f"the NetLog {path} holds no events"
    return text.encode() + b"\n" + b"\n".join(socket_bytes)


@contextmanager
def recorded_browser(playwright_browser: Browser, workdir: Path, capture: Capture) -> Iterator[Browser]:
    """A Chromium of its own, recorded by CDP and NetLog; `capture.netlog` is filled on exit."""
    port = free_port()
    netlog = workdir / "netlog.json"
    browser = playwright_browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_FLAGS, LOOPBACK_AS_PUBLIC, f"--remote-debugging-port={port}", f"--log-net-log={netlog}",
              "--net-log-capture-mode=Everything"],
    )
    recorder = CdpRecorder(port, capture)
    try:
        yield browser
    finally:
        browser.close()  # the NetLog is complete once the browser has exited
        recorder.close()
        capture.netlog = read_netlog(netlog)
