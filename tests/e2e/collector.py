"""A server on 127.0.0.1 that records every request it gets: the ground truth of an egress probe.

It answers each kind of probe with what a real endpoint would send (a script, a stylesheet,
an image, an event stream, permissive CORS), so a probe that is not blocked succeeds
completely. A UDP socket next to it records STUN packets, which is how WebRTC leaks.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Chromium's Local Network Access checks block requests and navigations from an opaque
# origin to loopback. A real server is not on loopback, so the browsers that test egress turn
# the checks off: otherwise a "blocked" here might be LNA's doing, not the sandbox's.
LOOPBACK_AS_PUBLIC = "--disable-features=LocalNetworkAccessChecks"

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)
BODIES = {
    "script": ("text/javascript", b"self.probeScriptRan = true;"),
    "import": ("text/javascript", b"self.probeScriptRan = true;"),
    "style": ("text/css", b"body { --probe: 1; }"),
    "image": ("image/png", PNG_1X1),
    "eventsource": ("text/event-stream", b"data: probe\n\n"),
}


class Collector:
    def __init__(self) -> None:
        hits = self.hits = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                with lock:
                    hits.append(self.path)
                kind = self.path.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
                content_type, body = BODIES.get(kind, ("text/plain", b"ok"))
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp_port = self.udp.getsockname()[1]
        self.udp_packets = 0
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        threading.Thread(target=self._read_udp, daemon=True).start()

    def _read_udp(self) -> None:
        while True:
            try:
                self.udp.recv(2048)
            except OSError:
                return
            self.udp_packets += 1

    def reached(self, context: str) -> set[str]:
        """The probe names of `context` whose request arrived here."""
        prefix = f"/probe/{context}/"
        return {path[len(prefix):].split("?")[0].split("/")[0] for path in list(self.hits) if path.startswith(prefix)}

    def close(self) -> None:
        self.http.shutdown()
        self.udp.close()
