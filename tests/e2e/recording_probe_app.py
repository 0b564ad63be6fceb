"""The probe app behind a recorder: every byte any browser sends to the server, written to disk.

For the browsers the egress suite cannot instrument (Firefox and WebKit have no CDP here), the
server is the one place all of a page's traffic can arrive: the sandbox and its Worker have no
network at all, and the machine has no other. The recorder is a pure ASGI middleware under
`st.App`: each HTTP request (method, path, query, headers, body) and each WebSocket message
the browser sends is appended to the file named by SSC_RECORD.
"""

import os

import streamlit as st
from starlette.middleware import Middleware


class Recorder:
    def __init__(self, app, path: str) -> None:
        self.app = app
        self.path = path

    def _write(self, data: bytes) -> None:
        with open(self.path, "ab") as f:
            f.write(data + b"\n")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            head = [scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")]
            self._write(" ".join(head).encode() + b" " + b" ".join(k + b": " + v for k, v in scope["headers"]))
        elif scope["type"] == "websocket":
            self._write(f"WS {scope['path']} {scope.get('query_string', b'').decode('latin-1')}".encode())

        async def recorded():
            message = await receive()
            if message["type"] in ("http.request", "websocket.receive"):
                self._write(message.get("body") or message.get("bytes") or (message.get("text") or "").encode())
            return message

        await self.app(scope, recorded, send)


app = st.App("probe_app.py", middleware=[Middleware(Recorder, path=os.environ["SSC_RECORD"])])
