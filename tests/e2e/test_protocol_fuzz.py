"""Fuzzing the frame protocol in the browser: hostile messages at the host and at the sandbox.

Seeded random and hand-made malformed messages are posted from every window that can reach
each frame: the sandbox, the host itself, the app page, and an intruder frame. Each frame
must drop and count them by reason (its `data-dropped-*` counters), no value may reach
Python meanwhile, and the component must still answer a picked file afterwards.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
from typing import Any

from playwright.sync_api import Frame, Page

from helpers import (
    COMPONENT_IFRAME, DATA, RECORD_VALUES, StreamlitServer, open_case, pick_file, sandbox_frame, wait_result,
)


SEED = 20260422
CANARY = f"fuzz canary {secrets.token_hex(8)}"

SHA = "0" * 64
RESULT = {
    "status": "ok", "model_sha256": SHA,
    "outputs": {"y": {"shape": [1, 2], "dtype": "float32", "data": [0.25, 0.75]}},
    "top_k": [{"row": 0, "index": 1, "label": None, "score": 0.75}],
    "timings_ms": {"inference": 1.0},
}
# Well-formed messages; each mutation below makes one of them malformed.
TO_HOST = [
    {"v": 1, "type": "hello"},
    {"v": 1, "type": "resize", "height": 40},
    {"v": 1, "type": "result", "runId": 1, "result": RESULT},
    {"v": 1, "type": "error", "runId": None, "error": {"code": "x", "message": "y"}},
    {"v": 1, "type": "batch", "runId": 1, "items": [RESULT, {"status": "error", "error": {"code": "x", "message": "y"}}]},
]
THEME = {"primaryColor": "#ff4b4b", "backgroundColor": "#ffffff", "secondaryBackgroundColor": "#f0f2f6",
         "textColor": "#31333f", "font": "sans-serif", "base": "light"}
TO_SANDBOX = [
    {"v": 1, "type": "configure", "runId": 7, "modelSha256": SHA, "request": {"input": {"kind": "file"}}, "accept": [".png"],
     "timeoutMs": 0, "batch": {"maxFiles": 3}},
    {"v": 1, "type": "model", "bytes": None, "sha256": SHA, "limits": None},
    {"v": 1, "type": "ui", "ui": {"label": "Choose", "help": None, "disabled": False, "height": None}, "theme": THEME},
    {"v": 1, "type": "progress", "loaded": 10, "total": 100},
]
# Paths whose removal or retyping breaks the message (records such as `outputs` may lose keys).
# `configure.batch` may be null, so only its field is retyped; `ui.height` is null in the
# template, so retyping it gives a wrong type.
REQUIRED = {
    "hello": [("v",), ("type",)],
    "resize": [("v",), ("type",), ("height",)],
    "result": [("runId",), ("result",), ("result", "status"), ("result", "model_sha256"), ("result", "outputs"),
               ("result", "outputs", "y", "shape"), ("result", "outputs", "y", "data"), ("result", "timings_ms"),
               ("result", "top_k", 0, "score")],
    "error": [("runId",), ("error",), ("error", "code"), ("error", "message")],
    "configure": [("runId",), ("modelSha256",), ("request",), ("request", "input"), ("request", "input", "kind"), ("accept",), ("timeoutMs",),
                  ("batch", "maxFiles")],
    "model": [("sha256",), ("limits",)],
    "batch": [("runId",), ("items",), ("items", 1, "status"), ("items", 1, "error"), ("items", 1, "error", "code")],
    "ui": [("ui",), ("ui", "label"), ("ui", "disabled"), ("ui", "height"), ("theme", "primaryColor"), ("theme", "base")],
    "progress": [("loaded",), ("total",)],
}
# Objects with a fixed key set: an extra key there is refused.
CLOSED = {
    "hello": [()], "resize": [()], "error": [(), ("error",)], "configure": [(), ("batch",)], "model": [()],
    "batch": [(), ("items", 1), ("items", 1, "error")], "ui": [(), ("ui",), ("theme",)], "progress": [()],
    "result": [(), ("result",), ("result", "outputs", "y"), ("result", "top_k", 0)],
}
def wrong_value(rng: random.Random, current: Any) -> Any:
    """A value of the wrong type (or range) for the field that holds `current`."""
    if current is None:  # runId of an error, limits
        options: list[Any] = ["1", -1, []]
    elif isinstance(current, str):
        options = [1, None, [], {}, True]
    elif isinstance(current, int):  # runId, height, timeoutMs: non-negative integers
        options = ["1", -1, 1.5, None, [], float("nan"), float("inf")]
    elif isinstance(current, float):  # a score: any finite number
        options = ["0.5", None, [], float("nan"), float("inf"), True]
    elif isinstance(current, list):
        options = ["x", None, 1, {}]
    else:
        options = ["x", None, 1, []]
    return rng.choice(options)


def at(message: Any, path: tuple) -> Any:
    for step in path:
        message = message[step]
    return message


def mutate(rng: random.Random, template: dict) -> dict:
    """One invalid variant of a valid message: a key removed, retyped, or added."""
    m = copy.deepcopy(template)
    kind = m["type"]
    op = rng.choice(["drop", "retype", "extra", "version", "type"])
    if op in ("drop", "retype"):
        *parent, key = rng.choice(REQUIRED[kind])
        container = at(m, tuple(parent))
        if op == "drop":
            del container[key]
        else:
            container[key] = wrong_value(rng, container[key])
    elif op == "extra":
        at(m, rng.choice(CLOSED[kind]))["leak"] = CANARY
    elif op == "version":
        m["v"] = rng.choice([0, 2, "1", None])
    else:
        m["type"] = rng.choice(["boot ", "Result", "", CANARY, 1])
    return m


def junk(rng: random.Random, depth: int = 0) -> Any:
    """A random value with no protocol envelope at all."""
    pick = rng.randrange(7 if depth < 3 else 4)
    if pick == 0:
        return rng.choice([None, True, 0, -1, 2**53, 1e308, float("nan")])
    if pick == 1:
        return "".join(rng.choice("ab{}\"\\ \u0000\u2028") for _ in range(rng.randrange(20))) + CANARY
    if pick == 2:
        return rng.random()
    if pick == 3:
        return CANARY
    if pick == 4:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 5:
        return {rng.choice(["v", "type", "runId", "result", CANARY]): junk(rng, depth + 1) for _ in range(rng.randrange(4))}
    return {"v": 1, "type": junk(rng, depth + 1)}


def malformed(rng: random.Random, templates: list[dict], count: int) -> list[Any]:
    return [mutate(rng, rng.choice(templates)) if i % 3 else junk(rng) for i in range(count)]


POST_TO_PARENT = "(messages) => { for (const m of messages) parent.postMessage(m, '*'); }"
POST_TO_SELF = "(messages) => { for (const m of messages) window.postMessage(m, '*'); }"
POST_TO_SANDBOX = """(messages) => {
  const sandbox = document.getElementById("sandbox").contentWindow;
  for (const m of messages) sandbox.postMessage(m, "*");
}"""
# From the app page: straight into the sandbox (a window that is not its parent).
POST_FROM_TOP_TO_SANDBOX = """([selector, messages]) => {
  const sandbox = document.querySelector(selector).contentWindow.document.getElementById("sandbox").contentWindow;
  for (const m of messages) sandbox.postMessage(m, "*");
}"""
# From an intruder frame in the app page (same origin as the host): the window is what counts.
POST_FROM_INTRUDER = """([selector, messages]) => {
  const host = parent.document.querySelector(selector).contentWindow;
  for (const m of messages) host.postMessage(m, "*");
}"""
POST_FROM_TOP_TO_HOST = """([selector, messages]) => {
  const host = document.querySelector(selector).contentWindow;
  for (const m of messages) host.postMessage(m, "*");
}"""
# Well-formed, from the host, but the engine boots once per sandbox.
SECOND_BOOT = """(origin) => document.getElementById("sandbox").contentWindow.postMessage(
  { v: 1, type: "boot", hostOrigin: origin, engineJs: "self.close()", engineWasm: new ArrayBuffer(8) }, "*")"""
# Oversized and cyclic messages, built where they are posted (too big to ship from Python).
OVERSIZED = """(target) => {
  const post = target === "parent" ? (m) => parent.postMessage(m, "*")
    : (m) => document.getElementById("sandbox").contentWindow.postMessage(m, "*");
  const cyclic = { v: 1, type: "result" };
  cyclic.self = cyclic;
  post({ v: 1, type: "error", runId: null, error: { code: "x", message: "x".repeat(17 << 20) } });
  post({ v: 1, type: "resize", height: new Array(5_000_000).fill(1) });
  post(cyclic);
  return 3;
}"""


def counters(frame: Frame) -> dict[str, int]:
    return frame.evaluate("""() => {
      const d = document.documentElement.dataset;
      return { foreign: +d.droppedForeign, malformed: +d.droppedMalformed, oversized: +d.droppedOversized };
    }""")


def wait_counts(page: Page, frame: Frame, want: dict[str, int]) -> dict[str, int]:
    for _ in range(100):
        got = counters(frame)
        if got == want:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)  # and nothing more arrives afterwards
    return counters(frame)


def plus(base: dict[str, int], **more: int) -> dict[str, int]:
    return {k: v + more.get(k, 0) for k, v in base.items()}


def test_hostile_messages_are_dropped_counted_and_harmless(page: Page, probe_server: StreamlitServer) -> None:
    rng = random.Random(SEED)
    page.context.add_init_script(RECORD_VALUES)
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    sandbox = host.locator("#sandbox").element_handle().content_frame()
    host_before, sandbox_before = counters(host), counters(sandbox)

    # At the host: from its sandbox (malformed, forged answers to runs it never started,
    # oversized), from itself and from an intruder frame (foreign).
    from_sandbox = malformed(rng, TO_HOST, 150)
    forged = [{"v": 1, "type": "result", "runId": 999, "result": RESULT},
              {"v": 1, "type": "error", "runId": 998, "error": {"code": "x", "message": CANARY}},
              # A file's full error (`detail`) is for the person's eyes in the sandbox, never for Python.
              {"v": 1, "type": "error", "runId": None, "error": {"code": "x", "message": "y", "detail": CANARY}}]
    sandbox.evaluate(POST_TO_PARENT, from_sandbox + forged)
    oversized_to_host = sandbox.evaluate(OVERSIZED, "parent")
    foreign_to_host = [copy.deepcopy(m) for m in TO_HOST]
    host.evaluate(POST_TO_SELF, foreign_to_host)
    page.evaluate("() => { const f = document.createElement('iframe'); f.name = 'intruder'; document.body.appendChild(f); }")
    page.frame(name="intruder").evaluate(POST_FROM_INTRUDER, [COMPONENT_IFRAME, foreign_to_host])
    # From the app page itself, Streamlit's own channel: only render messages are taken.
    page.evaluate(POST_FROM_TOP_TO_HOST, [COMPONENT_IFRAME, foreign_to_host])
    want_host = plus(host_before, malformed=len(from_sandbox) + len(forged) + len(foreign_to_host),
                     oversized=oversized_to_host, foreign=2 * len(foreign_to_host))
    assert wait_counts(page, host, want_host) == want_host

    # At the sandbox: from the host (malformed, a second boot, oversized), from the app page
    # and from itself (foreign).
    to_sandbox = malformed(rng, TO_SANDBOX, 150)
    host.evaluate(POST_TO_SANDBOX, to_sandbox)
    host.evaluate(SECOND_BOOT, probe_server.url)
    oversized_to_sandbox = host.evaluate(OVERSIZED, "sandbox")
    valid_commands = [{**m, "bytes": None} if m["type"] == "model" else m for m in TO_SANDBOX]
    page.evaluate(POST_FROM_TOP_TO_SANDBOX, [COMPONENT_IFRAME, valid_commands])
    sandbox.evaluate(POST_TO_SELF, valid_commands)
    want_sandbox = plus(sandbox_before, malformed=len(to_sandbox) + 1, oversized=oversized_to_sandbox,
                        foreign=2 * len(valid_commands))
    assert wait_counts(page, sandbox, want_sandbox) == want_sandbox

    # Nothing reached Python, and nothing of the fuzz shows in the component.
    assert page.evaluate("window.__componentValues") == []
    assert page.locator(".st-key-result code").inner_text().strip() == "null"
    assert CANARY not in sandbox.locator("body").inner_text()
    assert CANARY not in host.locator("body").inner_text()

    # The component still works.
    pick_file(page, DATA / "digit_3.png")
    result = wait_result(page)
    assert result["top_k"][0]["index"] == 3, result
    values = page.evaluate("window.__componentValues")
    assert len(values) == 1 and CANARY not in json.dumps(values)
