"""Hostile models and files in the browser: each ends in a clear error, and the component recovers.

"Clear" means the same `{code, message}` in the dict Python receives and on screen in the
sandbox; "recovers" means the same component instance then answers a good input.
"""

from __future__ import annotations

import json
import secrets
import struct
import zlib
from pathlib import Path

from playwright.sync_api import Page

from helpers import DATA, MODELS, StreamlitServer, open_case, pick_file, sandbox_frame, wait_result


def is_media(url: str) -> bool:
    """Streamlit's media endpoint, where the model is served."""
    return "/media/" in url and "/static/" not in url


def png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def expect_error(page: Page, previous: dict | None, code: str, phrase: str, detail: str | None = None) -> dict:
    """`phrase` is in what Python gets. `detail`, for a file's error, is what only the person reads
    in the sandbox: the file's values, sizes and positions never reach Python."""
    result = wait_result(page, previous=json.dumps(previous))
    assert result == {"status": "error", "error": {"code": code, "message": result["error"]["message"]}}, result
    assert phrase in result["error"]["message"], result
    shown = sandbox_frame(page).locator("#summary").inner_text()
    assert f"Error ({code})" in shown, shown
    if detail is None:
        assert result["error"]["message"] in shown, shown
    else:
        assert detail in shown, shown
        assert detail not in result["error"]["message"], result
    return result


def expect_digit(page: Page, previous: dict | None, digit: int) -> dict:
    pick_file(page, DATA / f"digit_{digit}.png")
    result = wait_result(page, previous=json.dumps(previous))
    assert result["status"] == "ok" and result["top_k"][0]["index"] == digit, result
    return result


def choose(page: Page, variant: str) -> None:
    page.get_by_text(variant, exact=True).click()


def test_hostile_image_files_each_fail_clearly_and_the_next_file_runs(page: Page, probe_server: StreamlitServer,
                                                                      tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    # 8000 x 8000 pixels declared (over the 50 M pixel default), a few rows of data: refused
    # from the header alone, before any decoding.
    bomb.write_bytes(png(8_000, 8_000, b"\0" * 8_001 * 4))
    truncated = tmp_path / "truncated.png"
    whole = (DATA / "digit_5.png").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cases = [(bomb, "image_too_large", "the image is over the limit of", "8000x8000 = 64000000 pixels"),
             (truncated, "image_decode", "could not be decoded as an image", "the image could not be decoded: "),
             (empty, "preprocess", "the file does not fit the model's input", "the file is empty")]
    open_case(page, probe_server, "hostile")
    last = expect_digit(page, None, 3)
    for path, code, phrase, detail in cases:
        pick_file(page, path)
        last = expect_error(page, last, code, phrase, detail)
        last = expect_digit(page, last, 3 if code != "image_decode" else 5)


def test_a_header_claiming_ten_billion_pixels_is_image_too_large(page: Page, probe_server: StreamlitServer,
                                                                 tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(100_000, 100_000, b"\0" * 100_001 * 4))
    open_case(page, probe_server, "hostile")
    pick_file(page, bomb)
    result = wait_result(page)
    assert result["status"] == "error" and result["error"]["code"] == "image_too_large", result


def test_non_finite_csv_values_fail_clearly_and_the_next_file_runs(page: Page, probe_server: StreamlitServer,
                                                                   tmp_path: Path) -> None:
    lines = (DATA / "patients.csv").read_text().splitlines()
    open_case(page, probe_server, "hostile")
    choose(page, "csv")
    last = None
    for bad in ("NaN", "inf", "-Infinity"):
        cells = lines[1].split(",")
        cells[2] = bad
        path = tmp_path / f"{bad}.csv"
        path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
        pick_file(page, path)
        last = expect_error(page, last, "csv", "could not be read as a CSV of numbers", "row 2, column 3")
        assert "is NaN or infinite" in sandbox_frame(page).locator("#summary").inner_text()
        pick_file(page, DATA / "patients.csv")
        last = wait_result(page, previous=json.dumps(last))
        assert last["status"] == "ok", last


def test_bad_models_fail_clearly_and_the_same_component_recovers(page: Page, probe_server: StreamlitServer) -> None:
    # A server (or anything between) that delivers other bytes than the app declared.
    other_model = (MODELS / "breast_cancer_logreg.onnx").read_bytes()
    page.route(is_media, lambda route: route.fulfill(status=200, body=other_model,
                                                     headers={"Content-Type": "application/octet-stream"}))
    open_case(page, probe_server, "hostile")
    last = expect_error(page, None, "sha256_mismatch", "is not the file the app declared")
    page.unroute(is_media)

    for variant, code, phrase in [
        ("corrupt model", "unsupported_format", "neither an ONNX model"),
        ("wrong shape", "shape_mismatch", "expects shape [N, 64], but got [1, 10]"),
        ("string output", "unsupported_dtype", "has type string"),
    ]:
        choose(page, variant)
        last = expect_error(page, last, code, phrase)
    choose(page, "image")
    expect_digit(page, last, 3)


def test_nan_output_is_a_clear_error(page: Page, probe_server: StreamlitServer) -> None:
    open_case(page, probe_server, "hostile")
    last = expect_digit(page, None, 3)
    choose(page, "nan output")
    result = wait_result(page, previous=json.dumps(last))
    assert result["status"] == "error" and result["error"]["code"] == "non_finite_output", result
    assert 'output "y" holds 1 NaN or infinite value' in result["error"]["message"], result


def test_a_1gb_file_is_refused_before_it_is_read(page: Page, probe_server: StreamlitServer, tmp_path: Path) -> None:
    """A 1 GB file (sparse on disk) is refused on its size alone: "it was not read" comes only from the
    Worker's check in front of `File.arrayBuffer()`; the engine's own check needs the bytes in memory."""
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.truncate(1 << 30)
    open_case(page, probe_server, "hostile")
    pick_file(page, huge)
    last = expect_error(page, None, "input_too_large", "the input file is over the limit of",
                        f"the input file is {1 << 30} bytes, over the limit of")
    assert last["error"]["message"].endswith("; it was not read")
    expect_digit(page, last, 3)


def test_error_messages_do_not_echo_file_content(page: Page, probe_server: StreamlitServer, tmp_path: Path) -> None:
    token = secrets.token_hex(8)
    lines = (DATA / "patients.csv").read_text().splitlines()
    header, cells = lines[0].split(","), lines[1].split(",")
    header[1], cells[1] = f"name {token}", f"patient {token}"
    path = tmp_path / "leaky.csv"
    path.write_text("\n".join([",".join(header), ",".join(cells), *lines[2:]]) + "\n")
    open_case(page, probe_server, "hostile")
    choose(page, "csv")
    pick_file(page, path)
    result = expect_error(page, None, "csv", "could not be read as a CSV of numbers", "row 2, column 2")
    assert token not in json.dumps(result), result
    # Nor on screen, where the message is shown too.
    assert token not in sandbox_frame(page).locator("#summary").inner_text()


def test_a_trap_in_the_engine_replaces_its_worker_and_the_same_model_runs_again(page: Page, probe_server: StreamlitServer) -> None:
    """A model whose outputs outgrow what a wasm32 instance gets (N = 20,000: three 1.6 GB
    tensors): the allocator fails mid-run and the instance traps (panic=abort), its heap and
    wasm-bindgen's borrow flags left mid-update. The person and the app get a typed error; the
    sandbox replaces that Worker (one more Worker starts) and loads the same model into it, with
    no new download, so the next runs answer: 770 MB of outputs, then a different model."""
    workers: list = []
    page.on("worker", lambda worker: workers.append(worker))
    open_case(page, probe_server, "hostile")
    choose(page, "outer product")
    small = wait_result(page)
    assert small["status"] == "ok" and small["outputs"] == {"y": {"shape": [], "dtype": "float32", "data": [600.0]}}, small
    started = len(workers)
    choose(page, "memory bomb")
    last = expect_error(page, small, "internal", "it was restarted, and the next input runs in a fresh engine")
    assert len(workers) == started + 1, "the trapped Worker was kept"
    choose(page, "large outer product")
    large = wait_result(page, previous=json.dumps(last))
    assert large["status"] == "ok" and large["outputs"]["y"]["data"] == [2 * 8_000**2], large
    choose(page, "image")
    digit = expect_digit(page, large, 3)
    # An engine error that is not a trap keeps the Worker.
    choose(page, "wrong shape")
    expect_error(page, digit, "shape_mismatch", "expects shape")
    assert len(workers) == started + 1
