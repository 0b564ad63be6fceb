"""Fuzzing the frame protocol in the browser: hostile messages at the host and at the sandbox.

The templates are messages the frames really exchanged in this session (the host's commands as
the sandbox received them, the result as Python received it), so they are well-formed by
construction; a positive control posts them unchanged from the right window and holds that they
are taken. Each mutation breaks one field of a template. Seeded random and hand-made malformed
messages are then posted from every window that can reach each frame: the sandbox, the host
itself, the app page, and an intruder frame. Each frame must drop and count them by reason (its
`data-dropped-*` counters: a well-formed answer to a run the host did not start is `unexpected`,
not `malformed`), no value may reach Python meanwhile, and the component must still answer a
picked file afterwards.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
from typing import Any

from playwright.sync_api import Frame, Page

from helpers import (
    COMPONENT_IFRAME, DATA, RECORD_VALUES, StreamlitServer, open_case, pick_file, sandbox_frame,
)


SEED = 20260422
CANARY = f"fuzz canary {secrets.token_hex(8)}"

# The run the probe page's first render starts; the positive control fails loudly if it is not.
RUN = 1
FILE_ERROR = {"code": "image_decode", "message": "the file could not be decoded as an image"}


def to_host_templates(result: dict) -> list[dict]:
    """Well-formed sandbox -> host messages around `result`, a result Python really received."""
    return [
        {"v": 1, "type": "hello"},
        {"v": 1, "type": "resize", "height": 40},
        {"v": 1, "type": "result", "runId": RUN, "result": result},
        {"v": 1, "type": "error", "runId": None, "error": FILE_ERROR},
        {"v": 1, "type": "batch", "runId": RUN, "items": [result, {"status": "error", "error": FILE_ERROR}]},
        {"v": 1, "type": "cleared", "runId": RUN},
    ]


# Paths whose removal or retyping breaks the message, by type (records such as `outputs` may
# lose keys). `configure.limits` and `.batch` may be null, so only a wrong type is tried there.
def required(message: dict) -> list[tuple]:
    result = ("result",) if message["type"] == "result" else ("items", 0)
    output = next(iter(message["result"]["outputs"])) if message["type"] == "result" else None
    return {
        "hello": [("v",), ("type",)],
        "resize": [("v",), ("type",), ("height",)],
        "result": [("runId",), ("result",), result + ("status",), result + ("model_sha256",), result + ("outputs",),
                   result + ("outputs", output, "shape"), result + ("outputs", output, "data"), result + ("timings_ms",),
                   result + ("top_k", 0, "score"), result + ("receipt",), result + ("receipt", "bits"),
                   result + ("cross_origin_isolated",)],
        "error": [("runId",), ("error",), ("error", "code"), ("error", "message")],
        "batch": [("runId",), ("items",), ("items", 0, "receipt"), ("items", 1, "status"), ("items", 1, "error"),
                  ("items", 1, "error", "code")],
        "cleared": [("runId",)],
        "configure": [("runId",), ("modelSha256",), ("request",), ("request", "input"), ("request", "input", "kind"),
                      ("limits",), ("accept",), ("timeoutMs",), ("batch",)],
        "model": [("bytes",), ("sha256",)],
        "ui": [("ui",), ("ui", "label"), ("ui", "disabled"), ("ui", "height"), ("theme", "primaryColor"), ("theme", "base")],
        "progress": [("loaded",), ("total",)],
    }[message["type"]]


# Objects with a fixed key set: an extra key there is refused.
CLOSED = {
    "hello": [()], "resize": [()], "error": [(), ("error",)], "configure": [()], "model": [()], "cleared": [()],
    "batch": [(), ("items", 0), ("items", 1), ("items", 1, "error")], "ui": [(), ("ui",), ("theme",)], "progress": [()],
    "result": [(), ("result",), ("result", "top_k", 0), ("result", "receipt")],
}


def wrong_value(rng: random.Random, current: Any) -> Any:
    """A value of the wrong type (or range) for the field that holds `current`."""
    if current is None:  # runId of an error, limits, batch, a model's bytes (added where it is posted)
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
        *parent, key = rng.choice(required(m))
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
# A model message's bytes cannot come from Python: a null there becomes 8 bytes of an ArrayBuffer.
POST_TO_SANDBOX = """(messages) => {
  const sandbox = document.getElementById("sandbox").contentWindow;
  for (const m of messages) {
    if (m && m.type === "model" && m.bytes === null) m.bytes = new ArrayBuffer(8);
    sandbox.postMessage(m, "*");
  }
}"""
# In the sandbox: every command the host really sent it (the boot aside), as JSON; a model's
# bytes cannot travel to Python, so they are left out (POST_TO_SANDBOX puts some back).
CAPTURE_HOST_COMMANDS = """
if (self.origin === "null" && window !== window.top) {
  window.__fromHost = [];
  addEventListener("message", (e) => {
    if (e.source !== parent || !e.data || e.data.type === "boot") return;
    window.__fromHost.push(JSON.parse(JSON.stringify(e.data.type === "model" ? { ...e.data, bytes: null } : e.data)));
  });
}
"""
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
SECOND_BOOT = """() => document.getElementById("sandbox").contentWindow.postMessage(
  { v: 1, type: "boot", hostOrigin: location.origin, engineJs: "self.close()", engineWasm: new ArrayBuffer(8) }, "*")"""
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
      return { foreign: +d.droppedForeign, malformed: +d.droppedMalformed, oversized: +d.droppedOversized,
               unexpected: +d.droppedUnexpected };
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


def values(page: Page) -> list:
    return page.evaluate("window.__componentValues")


def wait_values(page: Page, count: int) -> list:
    for _ in range(100):
        if len(values(page)) >= count:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)
    return values(page)


def test_hostile_messages_are_dropped_counted_and_harmless(page: Page, probe_server: StreamlitServer) -> None:
    rng = random.Random(SEED)
    page.context.add_init_script(RECORD_VALUES + CAPTURE_HOST_COMMANDS)
    open_case(page, probe_server, "image")
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    sandbox = host.locator("#sandbox").element_handle().content_frame()

    # At the sandbox. The commands the host really sent: the positive control re-sends them
    # from the host (the model aside: its bytes cannot come from Python) and none is dropped.
    # The last of each type (the download's progress comes many times).
    commands = list({m["type"]: m for m in sandbox.evaluate("() => window.__fromHost")}.values())
    assert {m["type"] for m in commands} >= {"configure", "model", "ui"}, commands
    sandbox_before = counters(sandbox)
    host.evaluate(POST_TO_SANDBOX, [m for m in commands if m["type"] != "model"])
    assert wait_counts(page, sandbox, sandbox_before) == sandbox_before
    # Then one broken field each (malformed), a second boot (unexpected), oversized ones, and
    # the well-formed commands from the app page and from the sandbox itself (foreign).
    to_sandbox = malformed(rng, commands, 150)
    host.evaluate(POST_TO_SANDBOX, to_sandbox)
    host.evaluate(SECOND_BOOT)
    oversized_to_sandbox = host.evaluate(OVERSIZED, "sandbox")
    valid_commands = [m for m in commands if m["type"] != "model"]
    page.evaluate(POST_FROM_TOP_TO_SANDBOX, [COMPONENT_IFRAME, valid_commands])
    sandbox.evaluate(POST_TO_SELF, valid_commands)
    want_sandbox = plus(sandbox_before, malformed=len(to_sandbox), unexpected=1, oversized=oversized_to_sandbox,
                        foreign=2 * len(valid_commands))
    assert wait_counts(page, sandbox, want_sandbox) == want_sandbox

    # At the host. A result Python really received makes the templates; re-sent unchanged from
    # the sandbox, each is taken: the result, the file's error, the batch and the clearing
    # reach Python, and nothing is dropped.
    pick_file(page, DATA / "digit_3.png")
    received = wait_values(page, 1)
    assert len(received) == 1 and received[0]["status"] == "ok", received
    result = {k: v for k, v in received[0].items() if k != "request_key"}
    templates = to_host_templates(result)
    host_before = counters(host)
    sandbox.evaluate(POST_TO_PARENT, templates)
    assert wait_counts(page, host, host_before) == host_before
    taken = wait_values(page, 5)[1:]
    assert [v and (v.get("status"), "batch" in v) for v in taken] == [("ok", False), ("error", False), ("ok", True), None], taken

    # Well-formed answers to runs the host did not start last: unexpected, and not taken.
    forged = [{**t, "runId": run_id} for t in templates if t.get("runId") is not None for run_id in (RUN + 1, 999)]
    forged.append({"v": 1, "type": "error", "runId": 998, "error": {"code": "image_decode", "message": CANARY}})
    # A file's full error (`detail`) is for the person's eyes in the sandbox, never for Python.
    with_detail = {"v": 1, "type": "error", "runId": None, "error": {**FILE_ERROR, "detail": CANARY}}
    # One broken field each; oversized ones; and the templates from the host itself, an intruder
    # frame and the app page, Streamlit's own channel, where only render messages are taken.
    from_sandbox = malformed(rng, templates, 150)
    sandbox.evaluate(POST_TO_PARENT, forged + [with_detail] + from_sandbox)
    oversized_to_host = sandbox.evaluate(OVERSIZED, "parent")
    host.evaluate(POST_TO_SELF, templates)
    page.evaluate("() => { const f = document.createElement('iframe'); f.name = 'intruder'; document.body.appendChild(f); }")
    page.frame(name="intruder").evaluate(POST_FROM_INTRUDER, [COMPONENT_IFRAME, templates])
    page.evaluate(POST_FROM_TOP_TO_HOST, [COMPONENT_IFRAME, templates])
    want_host = plus(host_before, unexpected=len(forged), malformed=1 + len(from_sandbox) + len(templates),
                     oversized=oversized_to_host, foreign=2 * len(templates))
    assert wait_counts(page, host, want_host) == want_host

    # Nothing more reached Python, and nothing of the fuzz shows in the component.
    assert len(values(page)) == 5
    assert CANARY not in json.dumps(values(page))
    assert CANARY not in sandbox.locator("body").inner_text()
    assert CANARY not in host.locator("body").inner_text()

    # The component still works.
    pick_file(page, DATA / "digit_3.png")
    after = wait_values(page, 6)
    assert len(after) == 6 and after[5]["top_k"][0]["index"] == 3, after[5:]
