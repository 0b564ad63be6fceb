"""What the browser tests share: the app server, the component's frames, the probe app's
cases and the example pages, the sample files, and the recorders and canaries the privacy
tests inject. Fixtures stay in conftest.py."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from playwright.sync_api import FrameLocator, Page

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import gen_dicom  # noqa: E402  (the DICOM studies' generator, scripts/gen_dicom.py)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
COMPONENT_IFRAME = 'iframe[title="streamlit_secure_context._component.streamlit_secure_context"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    def __init__(self, app: Path, python: str = sys.executable, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ROOT / "test-results" / f"streamlit-{app.stem}.log"
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [python, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env={**os.environ} if env is None else env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _load_build_wheel():
    spec = importlib.util.spec_from_file_location("build_wheel", ROOT / "scripts" / "build_wheel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_wheel = _load_build_wheel()


def isolated_env() -> dict[str, str]:
    """The environment minus whatever would let the checkout or the dev venv be imported."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def host_frame(page: Page) -> FrameLocator:
    """The component's own frame (the host document)."""
    return page.frame_locator(COMPONENT_IFRAME)


def sandbox_frame(page: Page) -> FrameLocator:
    """The sandboxed frame nested in the host, where the file input and the Worker live."""
    return host_frame(page).frame_locator("#sandbox")


# --- The probe app's cases and the sample files

DATA = ROOT / "examples" / "data"
MODELS = ROOT / "examples" / "models"
# The DICOM studies of scripts/gen_dicom.py, with what the engine must make of them.
DICOM = ROOT / "crates" / "engine" / "tests" / "dicom"
TOLERANCE = 1e-4


def reference(model: str, input_name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(MODELS / model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {input_name: x.astype(np.float32)})))


def digit_pixels(d: int) -> np.ndarray:
    return (np.asarray(Image.open(DATA / f"digit_{d}.png"), dtype=np.float32) * np.float32(16 / 255)).reshape(1, 64)


def open_case(page: Page, server: StreamlitServer, case: str) -> None:
    page.goto(f"{server.url}/?case={case}")
    page.locator(COMPONENT_IFRAME).wait_for(timeout=30_000)


def wait_result(page: Page, previous: str = "null", timeout: float = 60) -> dict:
    """The component value Python received, as the probe app dumps it."""
    code = page.locator(".st-key-result code")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = code.inner_text() if code.count() else "null"
        if text.strip() not in ("null", previous):
            return json.loads(text)
        time.sleep(0.2)
    raise AssertionError(f"no result reached Python within {timeout}s")


def assert_outputs_match(result: dict, expected: dict[str, np.ndarray]) -> None:
    assert result["status"] == "ok", result
    assert set(result["outputs"]) == set(expected)
    for name, want in expected.items():
        got = result["outputs"][name]
        assert got["shape"] == list(want.shape)
        assert got["dtype"] == "float32"
        np.testing.assert_allclose(np.asarray(got["data"]).reshape(want.shape), want, atol=TOLERANCE)


def pick_file(page: Page, path: Path) -> None:
    # As a person would: once the picker is shown.
    sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=30_000)
    sandbox_frame(page).locator("#file").set_input_files(str(path))


# --- The example app's pages

EXAMPLES = ROOT / "examples"
# What each page is given: (url path, sample files, text that appears once Python has the result).
SAMPLES = {
    "risk_score": ("risk_score", [DATA / "patients.csv"], "Patients with P(malignant)"),
    "digit_classifier": ("digit_classifier", [DATA / "scan_3.png"], "Predicted digit: three"),
    "face_detection": ("face_detection", [DATA / "astronaut_face.png"], "Faces found"),
    "batch": ("batch", sorted(DATA.glob("scan_*.png")), "Files classified"),
    "ct_triage": ("ct_triage", [DATA / "ct_small_disc.dcm"], "Mostly air"),
}


def open_example(page: Page, server: StreamlitServer, name: str) -> None:
    page.goto(f"{server.url}/{SAMPLES[name][0]}")
    page.locator(COMPONENT_IFRAME).wait_for(timeout=30_000)


def pick(page: Page, files: list[Path]) -> None:
    """Sets the files on the sandbox's picker once it is shown, as a person would pick them."""
    sandbox_frame(page).locator("#pick").wait_for(state="visible", timeout=30_000)
    sandbox_frame(page).locator("#file").set_input_files([str(f) for f in files])


def run_example(page: Page, server: StreamlitServer, name: str) -> None:
    """Opens an example page, picks its sample file(s) and waits for Python's result."""
    open_example(page, server, name)
    _, files, done = SAMPLES[name]
    pick(page, files)
    result = page.locator(f".st-key-{name}_result")
    result.get_by_text(done).wait_for(timeout=60_000)
    # The table follows the first line in the same script run.
    result.locator("tbody tr").first.wait_for(timeout=10_000)


# --- Recorders and canaries

# Records, in the top page, each value the component hands Streamlit (which sends it to Python).
RECORD_VALUES = """
if (window === window.top) {
  window.__componentValues = [];
  addEventListener("message", (e) => {
    if (e.data && e.data.type === "streamlit:setComponentValue") window.__componentValues.push(e.data.value);
  });
}
"""


@dataclass(frozen=True)
class Canary:
    token: str  # 16 random hex digits: found in any form of any of the others
    text: str  # in the PNG text chunk and the CSV header
    number: str  # a CSV value the model reads
    png: Path  # its gray values are `png_pixels`, which the model reads
    csv: Path
    dicom: Path  # a CT study with the token in every identifying attribute of its header
    # The same study under a transfer syntax no registry knows, whose UID holds `number`: the
    # engine's full error quotes it, for the person in the sandbox only.
    unknown_syntax_dicom: Path
    png_pixels: np.ndarray  # uint8, row by row: digit_3.png with random noise of its own
    dicom_pixels: np.ndarray  # int16 stored values, row by row, all inside the study's window

    def secrets(self) -> list[str]:
        return [self.token, self.text, self.number]

    def values(self) -> dict[str, np.ndarray]:
        """The values read from the files: a leak of any run of them is found (egress.find_values)."""
        return {"png pixels": self.png_pixels, "dicom pixels": self.dicom_pixels}


def random_run(rng: random.SystemRandom, low: int, high: int, size: int) -> np.ndarray:
    """Random integers in [low, high) with no two neighbours equal, so that a run of them has one order."""
    values = [rng.randrange(low, high)]
    while len(values) < size:
        value = rng.randrange(low, high)
        if value != values[-1]:
            values.append(value)
    return np.asarray(values)


def make_canary(workdir: Path) -> Canary:
    rng = random.SystemRandom()
    token = secrets.token_hex(8)
    text = f"PHI canary {token}"
    # 12 random digits after 17.: a valid float32 input for the first feature (mean radius).
    number = f"17.{rng.randrange(10**11, 10**12)}"
    png = workdir / f"scan-{token}.png"
    info = PngInfo()
    info.add_text("Comment", text)
    # Noise of up to 4 gray levels makes the digit's 64 values the file's own; a draw the model
    # would not read as a 3 is drawn again (the probe's request scales gray by 16/255).
    digit = np.asarray(Image.open(DATA / "digit_3.png").convert("L"), dtype=np.int64)
    while True:
        pixels = np.clip(digit + np.asarray([rng.randrange(-4, 5) for _ in range(digit.size)]).reshape(digit.shape), 0, 255)
        scores = reference("digits_mlp.onnx", "pixels", (pixels.reshape(1, 64) * 16 / 255).astype(np.float32))
        if (np.diff(pixels.ravel()) != 0).all() and all(int(np.argmax(v)) == 3 for v in scores.values()):
            break
    Image.fromarray(pixels.astype(np.uint8), "L").save(png, pnginfo=info)
    lines = (DATA / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    header[0] = text
    first = lines[1].split(",")
    first[0] = number
    csv = workdir / f"patients-{token}.csv"
    csv.write_text("\n".join([",".join(header), ",".join(first), *lines[2:]]) + "\n")
    assert text.encode() in png.read_bytes() and number in csv.read_text()
    dicom = workdir / f"study-{token}.dcm"
    # Stored values 864-1264: HU -160 to 240, the study's window (40 +- 200), so windowing keeps
    # every value apart from the others.
    stored = random_run(rng, 864, 1265, 48 * 64).reshape(48, 64)
    gen_dicom.save(gen_dicom.study("ct", gen_dicom.ExplicitVRLittleEndian, token, ct=stored), dicom)
    assert token.encode() in dicom.read_bytes() and stored.astype("<i2").tobytes() in dicom.read_bytes()
    unknown_syntax_dicom = workdir / f"other-{token}.dcm"
    explicit_le = b"1.2.840.10008.1.2.1\0"
    assert dicom.read_bytes().count(explicit_le) == 1
    unknown_syntax_dicom.write_bytes(dicom.read_bytes().replace(explicit_le, f"1.2.{number}\0".encode()))
    return Canary(token=token, text=text, number=number, png=png, csv=csv, dicom=dicom,
                  unknown_syntax_dicom=unknown_syntax_dicom,
                  png_pixels=pixels.astype(np.uint8).ravel(), dicom_pixels=stored.astype(np.int16).ravel())
