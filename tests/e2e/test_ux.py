"""The component as a person meets it, in a real browser: theme, picker, drop zone, batches,
preview, detection boxes, the score chart and the frame's height.

Screenshots land in test-results/ (not committed) for a look at the result.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Frame, Page

from helpers import (
    COMPONENT_IFRAME, DATA, RECORD_VALUES, ROOT, StreamlitServer, open_case, pick_file, sandbox_frame, wait_result,
)


SHOTS = ROOT / "test-results"
FACE = ROOT / "crates" / "engine" / "tests" / "data" / "astronaut_face_128.png"
# Streamlit reads its theme from these variables, as from config.toml's [theme].
THEME = {
    "STREAMLIT_THEME_BASE": "dark",
    "STREAMLIT_THEME_PRIMARY_COLOR": "#1f77b4",
    "STREAMLIT_THEME_BACKGROUND_COLOR": "#101820",
    "STREAMLIT_THEME_SECONDARY_BACKGROUND_COLOR": "#2a3340",
    "STREAMLIT_THEME_TEXT_COLOR": "#f0e6d2",
    "STREAMLIT_THEME_FONT": "monospace",
}
# Records every stage the sandbox's status line goes through.
RECORD_STAGES = """
if (self.origin === "null") {
  window.__stages = [];
  const record = () => {
    const s = document.getElementById("status");
    const last = window.__stages[window.__stages.length - 1];
    if (s && (!last || last.text !== s.textContent || last.stage !== s.dataset.stage)) {
      window.__stages.push({ stage: s.dataset.stage, text: s.textContent });
    }
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}
"""


@pytest.fixture(scope="module")
def themed_server() -> Iterator[StreamlitServer]:
    server = StreamlitServer(ROOT / "tests" / "e2e" / "probe_app.py", env={**os.environ, **THEME})
    yield server
    server.stop()


def sandbox(page: Page) -> Frame:
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    return host.locator("#sandbox").element_handle().content_frame()


def wait_ready(page: Page) -> Frame:
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=60_000)
    return sandbox(page)


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.locator(COMPONENT_IFRAME).screenshot(path=str(SHOTS / f"ux-{name}.png"))


def rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_streamlit_theme_colors_and_font_reach_the_sandbox(page: Page, themed_server: StreamlitServer) -> None:
    open_case(page, themed_server, "image")
    frame = wait_ready(page)
    pick_file(page, DATA / "digit_3.png")
    assert wait_result(page)["status"] == "ok"
    styles = frame.evaluate("""() => {
      const css = (sel) => getComputedStyle(document.querySelector(sel));
      return { text: css("body").color, background: css("html").backgroundColor, zone: css("#drop").backgroundColor,
               bar: css(".bar-fill").backgroundColor, font: css("body").fontFamily, scheme: css("html").colorScheme };
    }""")
    assert styles["text"] == rgb(THEME["STREAMLIT_THEME_TEXT_COLOR"])
    assert styles["background"] == rgb(THEME["STREAMLIT_THEME_BACKGROUND_COLOR"])
    assert styles["zone"] == rgb(THEME["STREAMLIT_THEME_SECONDARY_BACKGROUND_COLOR"])
    assert styles["bar"] == rgb(THEME["STREAMLIT_THEME_PRIMARY_COLOR"])
    # Streamlit's monospace font, as an installed family (the sandbox cannot load fonts).
    assert styles["font"].endswith("monospace") and "Source" not in styles["font"]
    assert styles["scheme"] == "dark"
    assert page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).color") == styles["text"]
    shoot(page, "themed-dark")


def test_default_theme_is_the_apps_too(page: Page, probe_server: StreamlitServer) -> None:
    """The control for the theme test: without the variables, the app's default colors."""
    open_case(page, probe_server, "image")
    frame = wait_ready(page)
    app_text = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).color")
    assert frame.evaluate("getComputedStyle(document.body).color") == app_text != rgb(THEME["STREAMLIT_THEME_TEXT_COLOR"])
    assert frame.evaluate("getComputedStyle(document.body).fontFamily").endswith("sans-serif")


def test_stages_run_from_engine_to_ready_with_download_progress(page: Page, probe_server: StreamlitServer) -> None:
    page.context.add_init_script(RECORD_STAGES)
    # A slow line (2 MB/s), so the engine's and the model's download takes seconds.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 20, "downloadThroughput": 2_000_000, "uploadThroughput": 2_000_000})
    # Streamlit's own page crosses the slow line too, and the machine may be busy with other
    # tests: only the stages' order is under test here, not how fast the line is.
    page.goto(f"{probe_server.url}/?case=image", wait_until="commit", timeout=120_000)
    sandbox_frame(page).locator("#status[data-kind=ready]").wait_for(timeout=180_000)
    frame = sandbox(page)
    stages = frame.evaluate("window.__stages")
    steps = [s["stage"] for i, s in enumerate(stages) if i == 0 or stages[i - 1]["stage"] != s["stage"]]
    # The engine's wait is its download (shown as it comes), then its compiling; then the model.
    # (The markup's first stage, "engine", is seen only if the recorder starts before it is parsed.)
    assert steps in (["engine", "download", "engine", "model", "ready"], ["download", "engine", "model", "ready"]), stages
    # The percentage is streamed: many steps, rising, up to 100.
    percents = [int(s["text"].split("… ")[1].rstrip("%")) for s in stages if s["stage"] == "download"]
    assert len(percents) > 5 and percents == sorted(percents) and percents[-1] == 100, stages
    assert stages[-1]["text"] == "Ready: choose a file. It is processed only in this browser."
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    pick_file(page, DATA / "digit_3.png")
    wait_result(page)
    texts = [s["text"] for s in frame.evaluate("window.__stages")]
    assert texts[-2:] == ["Running on your file (it stays in this browser)…", "Done"], texts


def test_disabled_picker_cannot_be_focused_used_or_dropped_on(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "disabled")
    frame = wait_ready(page)
    picker = sandbox_frame(page).locator("#file")
    assert picker.is_disabled()
    assert frame.locator("#pick").get_attribute("data-disabled") == ""
    assert frame.evaluate("getComputedStyle(document.getElementById('drop')).opacity") == "0.45"
    assert frame.locator("#status").inner_text() == "Ready. Choosing files is turned off for now."
    frame.locator("#status").click()
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") != "file"
    drop_files(frame, [("digit_3.png", (DATA / "digit_3.png").read_bytes())])
    page.wait_for_timeout(1500)
    assert page.locator(".st-key-result code").inner_text().strip() == "null"
    shoot(page, "disabled")


def test_the_picker_is_disabled_while_streamlit_has_lost_its_server(page: Page) -> None:
    """Streamlit disables its widgets when the connection drops; a file picked then would run
    for a result that could reach no one, so the picker follows."""
    server = StreamlitServer(ROOT / "tests" / "e2e" / "probe_app.py")
    try:
        open_case(page, server, "image")
        wait_ready(page)
        picker = sandbox_frame(page).locator("#file")
        assert picker.is_enabled()
    finally:
        server.stop()
    sandbox_frame(page).locator("#file:disabled").wait_for(timeout=30_000)
    assert sandbox(page).locator("#status").inner_text() == "Ready. Choosing files is turned off for now."


def test_disabled_still_runs_a_tensor_request(page: Page, probe_server: StreamlitServer) -> None:
    """`disabled` is about the person's picker; a request that needs no one runs as always."""
    open_case(page, probe_server, "disabled_tensor")
    assert wait_result(page)["top_k"][0]["label"] == "digit 7"
    assert sandbox_frame(page).locator("#pick").is_hidden()


def test_label_and_help_name_and_describe_the_picker(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "batch")
    wait_ready(page)
    picker = sandbox_frame(page).get_by_label("Digits to read", exact=True)
    assert picker.get_attribute("id") == "file"
    described = picker.get_attribute("aria-describedby").split()
    texts = [sandbox_frame(page).locator(f"#{i}").inner_text() for i in described]
    assert "8 x 8 PNG scans. They never leave your browser." in texts
    assert sandbox_frame(page).locator("#help").is_visible()
    # The default label names the control when the app gives none.
    open_case(page, probe_server, "image")
    wait_ready(page)
    assert sandbox_frame(page).get_by_label("Choose a file", exact=True).get_attribute("id") == "file"
    assert sandbox_frame(page).locator("#help").is_hidden()


def test_keyboard_reaches_the_picker_and_enter_opens_it(page: Page, probe_server: StreamlitServer) -> None:
    # Playwright turns on file-chooser interception, in every frame's process, only once a
    # listener exists, and without waiting for it: registered here, long before the key
    # press, so the sandbox frame's dialog cannot open natively (and unseen) first.
    page.on("filechooser", lambda chooser: None)
    open_case(page, probe_server, "image")
    frame = wait_ready(page)
    frame.locator("#status").click()
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "file"
    # The drop zone shows where the focus is.
    assert frame.evaluate("getComputedStyle(document.getElementById('drop')).outlineStyle") == "solid"
    shoot(page, "focused")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(DATA / "digit_3.png"))
    first = wait_result(page)
    assert first["top_k"][0]["label"] == "digit 3"
    # Space opens it too; the focus stays on the picker after a run.
    sandbox_frame(page).locator("#status[data-stage=done]").wait_for()
    assert frame.evaluate("document.activeElement.id") == "file"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press(" ")
    chooser.value.set_files(str(DATA / "digit_8.png"))
    assert wait_result(page, previous=json.dumps(first))["top_k"][0]["label"] == "digit 8"


DROP = """async ([files, target]) => {
  const dt = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, { type: "image/png" }));
  }
  const zone = document.querySelector(target);
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
  const highlighted = zone.hasAttribute("data-over");
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  return highlighted;
}"""


def drop_files(frame: Frame, files: list[tuple[str, bytes]], target: str = "#drop") -> bool:
    """Drops files built in the page from these bytes; True when the zone lit up on dragover."""
    return frame.evaluate(DROP, [[[name, base64.b64encode(data).decode()] for name, data in files], target])


def test_a_dropped_file_runs(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    frame = wait_ready(page)
    assert drop_files(frame, [("digit_5.png", (DATA / "digit_5.png").read_bytes())])
    first = wait_result(page)
    assert first["top_k"][0]["label"] == "digit 5"
    assert frame.locator("#drop").get_attribute("data-over") is None
    # Two files where one is taken: a clear error, and nothing ran.
    digit = (DATA / "digit_1.png").read_bytes()
    drop_files(frame, [("a.png", digit), ("b.png", digit)])
    result = wait_result(page, previous=json.dumps(first))
    assert result["status"] == "error" and result["error"]["code"] == "too_many_files", result
    assert "one file at a time" in result["error"]["message"]


# File names a person might give their files: PHI, which must stay in the sandbox.
NAMES = ["jane-doe-1970-03-02-scan.png", "john-roe-mrn-884421.png", "ada-lovelace-chart.png"]


def test_batch_runs_in_order_keeps_the_bad_file_and_never_sends_names(page: Page, probe_server: StreamlitServer,
                                                                      tmp_path) -> None:
    page.context.add_init_script(RECORD_VALUES)
    files = [tmp_path / n for n in NAMES]
    files[0].write_bytes((DATA / "digit_3.png").read_bytes())
    files[1].write_bytes(b"this is not an image at all")
    files[2].write_bytes((DATA / "digit_7.png").read_bytes())
    open_case(page, probe_server, "batch")
    frame = wait_ready(page)
    sandbox_frame(page).locator("#file").set_input_files([str(f) for f in files])
    result = wait_result(page)

    assert result["status"] == "ok" and len(result["batch"]) == 3, result
    first, bad, last = result["batch"]
    assert first["status"] == "ok" and first["top_k"][0]["label"] == "digit 3"
    assert bad == {"status": "error", "error": {"code": bad["error"]["code"], "message": bad["error"]["message"]}}
    assert bad["error"]["code"] == "image_decode"
    assert last["status"] == "ok" and last["top_k"][0]["label"] == "digit 7"
    # No name, nor any part of one, in what Python got or in anything the host sent up.
    sent = json.dumps(result) + json.dumps(page.evaluate("window.__componentValues"))
    # (Parts made only of hex letters or digits could occur by chance in hashes and numbers.)
    for name in NAMES:
        for part in [name, *name.removesuffix(".png").split("-")]:
            if part == name or (part.isalpha() and not set(part) <= set("abcdef")):
                assert part not in sent, part
    # The progress bar reached n of n; the names are listed only inside the sandbox.
    bar = frame.locator("#batch-progress")
    assert (bar.evaluate("p => [p.value, p.max]"), bar.get_attribute("aria-valuetext")) == ([3, 3], "3 of 3 files done")
    assert frame.locator("#batch-text").inner_text() == "3 of 3 files done"
    rows = frame.locator("#batch-list li")
    assert [rows.nth(i).get_attribute("data-kind") for i in range(3)] == ["ok", "error", "ok"]
    assert all(NAMES[i] in rows.nth(i).inner_text() for i in range(3))
    assert frame.locator("#status").inner_text() == "Done: 3 files, 1 failed"
    # on_change ran once, for the new value.
    assert page.locator(".st-key-changes").inner_text().strip() == "changes=1"
    shoot(page, "batch")


POST_TO_HOST = "(message) => window.parent.postMessage(message, '*')"


def test_host_checks_every_item_of_a_batch(page: Page, probe_server: StreamlitServer) -> None:
    """A batch with one item the receipt does not declare, or anything extra, never reaches Python."""
    open_case(page, probe_server, "batch")
    frame = wait_ready(page)
    sandbox_frame(page).locator("#file").set_input_files([str(DATA / "digit_3.png"), str(DATA / "digit_7.png")])
    result = wait_result(page)
    first, second = result["batch"]
    host = page.locator(COMPONENT_IFRAME).element_handle().content_frame()
    dropped = lambda: host.evaluate("+document.documentElement.dataset.droppedMalformed")  # noqa: E731
    before = dropped()

    def post(items: list, **extra) -> None:
        frame.evaluate(POST_TO_HOST, {"v": 1, "type": "batch", "runId": 1, "items": items, **extra})

    error = {"status": "error", "error": {"code": "image_decode", "message": "x"}}
    post([first, {**second, "file_name": "scan.png"}])
    post([first, {**second, "top_k": second["top_k"] + [second["top_k"][0]]}])  # more than the receipt lists
    post([first, {**error, "name": "scan.png"}])
    post([first, {**error, "error": {**error["error"], "file": "scan.png"}}])
    post([first, second], names=["scan.png"])
    post([])
    page.wait_for_timeout(1500)
    assert dropped() == before + 6
    assert wait_result(page, timeout=1) == result, "a malformed batch reached Python"
    # Control: the same path delivers a well-formed batch, so the drops above are the validator's doing.
    post([error, second])
    assert wait_result(page, previous=json.dumps(result))["batch"] == [error, second]


def test_more_files_than_max_files_is_an_error_and_nothing_runs(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "batch")
    frame = wait_ready(page)
    digit = (DATA / "digit_1.png").read_bytes()
    drop_files(frame, [(f"d{i}.png", digit) for i in range(4)])
    result = wait_result(page)
    assert result["status"] == "error" and result["error"]["code"] == "too_many_files", result
    assert "at most 3" in result["error"]["message"]
    assert frame.locator("#batch-list li").count() == 0
    assert "too_many_files" in frame.locator("#summary").inner_text()


def test_a_batch_past_the_message_bound_is_an_error_not_a_cut(page: Page, probe_server: StreamlitServer) -> None:
    page.context.add_init_script(RECORD_VALUES)
    open_case(page, probe_server, "big_batch")
    frame = wait_ready(page)
    digit = (DATA / "digit_1.png").read_bytes()
    drop_files(frame, [(f"d{i}.png", digit) for i in range(6)])
    result = wait_result(page, timeout=120)
    assert result["status"] == "error" and result["error"]["code"] == "result_too_large", result
    assert "32 MiB" in result["error"]["message"]
    # Every file ran; what failed is the answer's size, and no partial batch was sent.
    assert [frame.locator("#batch-list li").nth(i).get_attribute("data-kind") for i in range(6)] == ["ok"] * 6
    assert all("batch" not in value for value in page.evaluate("window.__componentValues"))


def test_picked_image_is_previewed_with_its_score_bars(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "image")
    frame = wait_ready(page)
    pick_file(page, DATA / "digit_3.png")
    result = wait_result(page)
    canvas = frame.locator("#preview")
    canvas.wait_for(state="visible")
    # The 8 x 8 digit, enlarged: dark and light pixels, not a blank canvas.
    levels = frame.evaluate("""() => {
      const c = document.getElementById("preview");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const grey = new Set();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) grey.add(d[i]);
      return grey.size;
    }""")
    assert levels > 4
    bars = frame.locator("#bars li")
    ranked = [t for t in result["top_k"] if t["row"] == 0]
    assert bars.count() == len(ranked) == 2
    for i, t in enumerate(ranked):
        assert bars.nth(i).locator(".bar-label").inner_text() == t["label"]
        assert bars.nth(i).locator(".bar-value").inner_text() == f"{t['score'] * 100:.1f}%"
        assert bars.nth(i).get_attribute("aria-label") == f"{t['label']}: {t['score'] * 100:.1f}%"
    widths = [bars.nth(i).locator(".bar-fill").evaluate("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width")
              for i in range(2)]
    assert widths[0] == pytest.approx(ranked[0]["score"], abs=0.01) and widths[1] == pytest.approx(ranked[1]["score"], abs=0.01)
    shoot(page, "image")


def test_face_detections_are_drawn_over_the_preview(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "face")
    frame = wait_ready(page)
    pick_file(page, FACE)
    result = wait_result(page)
    assert result["status"] == "ok" and result["detections"], result
    canvas = frame.locator("#preview")
    canvas.wait_for(state="visible")
    assert canvas.get_attribute("data-boxes") == str(len(result["detections"]))
    # The middle of each box's left edge is painted in the theme's primary color: the 2-pixel
    # line is centred on the box's edge, rounded to the preview's pixel grid. The 128 x 128
    # image fills the square preview.
    primary = frame.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--ssc-primary').trim()")
    assert primary.startswith("#") and len(primary) == 7, primary
    for d in result["detections"]:
        xmin, ymin, _, ymax = d["box"]
        pixel = frame.evaluate("""([x, y, side]) => {
          const c = document.getElementById("preview");
          const k = c.width / side;
          return Array.from(c.getContext("2d").getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data);
        }""", [xmin, (ymin + ymax) / 2, 128])
        assert f"rgb({pixel[0]}, {pixel[1]}, {pixel[2]})" == rgb(primary), (pixel, primary)
    shoot(page, "face")


def test_preview_follows_exif_orientation_like_the_engine(page: Page, probe_server: StreamlitServer) -> None:
    """A 4 x 2 PNG whose EXIF orientation 6 turns it to 2 x 4: the preview is upright, taller than wide."""
    open_case(page, probe_server, "face")
    frame = wait_ready(page)
    pick_file(page, ROOT / "crates" / "engine" / "tests" / "data" / "exif_orientation_6.png")
    assert wait_result(page)["status"] == "ok"
    frame.locator("#preview").wait_for(state="visible")
    # The picture is fitted, centred, into the square preview: upright, it spans its height
    # and half its width.
    painted = frame.evaluate("""() => {
      const c = document.getElementById("preview");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let [x0, y0, x1, y1] = [c.width, c.height, -1, -1];
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        if (d[4 * (y * c.width + x) + 3] === 0) continue;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      return [x1 - x0 + 1, y1 - y0 + 1, c.width, c.height];
    }""")
    assert painted == [100, 200, 200, 200], painted


def frame_height(page: Page) -> float:
    page.wait_for_timeout(500)  # the last resize message
    return page.locator(COMPONENT_IFRAME).bounding_box()["height"]


def test_the_frames_height_reveals_neither_names_nor_picture_shapes(page: Page, probe_server: StreamlitServer,
                                                                   tmp_path) -> None:
    """The host sees the sandbox's height: it must not depend on what only the sandbox knows."""
    short, long = tmp_path / "short", tmp_path / "long"
    heights, previous = [], "null"
    for folder, stem in [(short, "a"), (long, "a-very-long-file-name-" * 8)]:
        folder.mkdir()
        files = [folder / f"{stem}{i}.png" for i in range(3)]
        for f in files:
            f.write_bytes((DATA / "digit_3.png").read_bytes())
        if previous == "null":
            open_case(page, probe_server, "batch")
            wait_ready(page)
        sandbox_frame(page).locator("#file").set_input_files([str(f) for f in files])
        previous = json.dumps(wait_result(page, previous=previous))
        heights.append(frame_height(page))
    assert heights[0] == heights[1], heights

    open_case(page, probe_server, "face")
    wait_ready(page)
    pick_file(page, FACE)
    previous = json.dumps(wait_result(page))
    square = frame_height(page)
    pick_file(page, ROOT / "crates" / "engine" / "tests" / "data" / "exif_orientation_6.png")
    wait_result(page, previous=previous)
    assert frame_height(page) == square


def test_fixed_height_is_kept_and_auto_height_follows_content(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "fixed")
    wait_ready(page)
    pick_file(page, DATA / "digit_3.png")
    wait_result(page)
    page.wait_for_timeout(500)
    height = lambda: page.locator(COMPONENT_IFRAME).bounding_box()["height"]  # noqa: E731
    assert height() == 150
    # The content is taller than that, and scrolls inside the sandbox.
    assert sandbox(page).evaluate("document.documentElement.scrollHeight") > 150
    shoot(page, "fixed")
    # A rerun without the fixed height: the frame takes its content's height again.
    page.get_by_text("fixed height").click()
    page.wait_for_timeout(1500)
    content = sandbox(page).evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
    assert height() == content > 150

    open_case(page, probe_server, "image")
    frame = wait_ready(page)
    before = height()
    pick_file(page, DATA / "digit_3.png")
    wait_result(page)
    page.wait_for_timeout(500)
    content = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
    assert height() == content > before + 100
