"""The example app's pages, as a person uses them: pick the sample file, read what Python shows.

Each expected value is computed here, independently of the browser: onnxruntime on the same
CSV, the digit a sample scan was drawn from, and the LiteRT golden box for the sample photo.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from helpers import (
    COMPONENT_IFRAME, DATA, EXAMPLES, MODELS, ROOT, SAMPLES, StreamlitServer, open_example, pick, run_example,
    sandbox_frame,
)


DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
BLAZEFACE_GOLDEN = ROOT / "crates" / "engine" / "tests" / "golden" / "tflite_blazeface_detections.json"
# The engine's resize and float arithmetic differ slightly from LiteRT's reference pipeline.
BOX_TOLERANCE_PX = 2.0


def table(page: Page, name: str) -> list[list[str]]:
    """The cells of the result table the page shows, row by row, header excluded."""
    rows = page.locator(f".st-key-{name}_result table tbody tr")
    return [row.locator("td, th").all_inner_texts() for row in rows.all()]


def bits_sent(sandbox: FrameLocator) -> int:
    """The finite bound in bits the sandbox's receipt line states for a single file's result."""
    receipt = sandbox.locator("#receipt").inner_text()
    found = re.search(r"your file: 0 bytes; at most (\d+) bits? derived from your file (?:was|were) sent", receipt)
    assert found, receipt
    return int(found[1])


def metric(page: Page, name: str) -> str:
    return page.locator(f".st-key-{name}_result [data-testid=stMetricValue]").inner_text()


def test_risk_score_shows_onnxruntimes_probabilities_per_patient(page: Page, demo_server: StreamlitServer) -> None:
    run_example(page, demo_server, "risk_score")
    features = np.loadtxt(DATA / "patients.csv", delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    session = ort.InferenceSession(str(MODELS / "breast_cancer_logreg.onnx"), providers=["CPUExecutionProvider"])
    (expected,) = session.run(["probabilities"], {"features": features})

    rows = table(page, "risk_score")
    assert [int(r[0]) for r in rows] == list(range(1, len(features) + 1))
    shown = np.array([[float(v) for v in r[1:]] for r in rows])
    # Rounded to 4 decimals in the browser (the disclosure policy), printed with 4.
    np.testing.assert_allclose(shown, expected, atol=1.01e-4)
    flagged = int((expected[:, 0] >= 0.5).sum())
    assert metric(page, "risk_score") == f"{flagged} of {len(features)}"
    assert "Kept in your browser: logits." in page.locator(".st-key-risk_score_result").inner_text()
    assert bits_sent(sandbox_frame(page)) > 0


def test_digit_classifier_names_the_digit_of_every_sample_scan(page: Page, demo_server: StreamlitServer) -> None:
    open_example(page, demo_server, "digit_classifier")
    result = page.locator(".st-key-digit_classifier_result")
    for digit, name in enumerate(DIGIT_NAMES):
        pick(page, [DATA / f"scan_{digit}.png"])
        result.get_by_text(f"Predicted digit: {name} (").wait_for(timeout=60_000)
        # The top-3 table follows the message in the same script run.
        expect(result.locator("tbody tr").first.locator("td").first).to_have_text(name)
        assert len(table(page, "digit_classifier")) == 3
        assert bits_sent(sandbox_frame(page)) > 0


def test_face_detection_shows_one_face_at_the_reference_box(page: Page, demo_server: StreamlitServer) -> None:
    run_example(page, demo_server, "face_detection")
    golden = json.loads(BLAZEFACE_GOLDEN.read_text())
    reference = next(c for c in golden["cases"] if c["name"] == "astronaut_face_256.png")
    (expected,) = reference["detections"]
    # The sample photo is the golden's 256x256 image, bigger than the model's 128x128 input.
    assert (DATA / "astronaut_face.png").read_bytes() == (ROOT / reference["file"]).read_bytes()

    assert metric(page, "face_detection") == "1"
    ((face, score, *box),) = table(page, "face_detection")
    assert face == "1"
    assert float(score) == pytest.approx(expected["score"], abs=0.01)
    np.testing.assert_allclose([float(v) for v in box], expected["box"], atol=BOX_TOLERANCE_PX)
    kept = page.locator(".st-key-face_detection_result").inner_text()
    assert "Kept in your browser: classificators, regressors." in kept
    assert bits_sent(sandbox_frame(page)) > 0


def test_quick_starts_pickers_state_a_bound_in_bits(page: Page, demo_server: StreamlitServer) -> None:
    page.goto(demo_server.url)
    # Components in page order: the tensor from Python, then the image and the CSV pickers.
    for nth, file, done in [(1, DATA / "digit_3.png", page.locator(".st-key-image_result").get_by_text("Predicted digit: 3")),
                            (2, DATA / "patients.csv", page.locator(".st-key-csv_result [data-testid=stDataFrame]"))]:
        sandbox = page.frame_locator(COMPONENT_IFRAME).nth(nth).frame_locator("#sandbox")
        sandbox.locator("#pick").wait_for(state="visible", timeout=60_000)
        sandbox.locator("#file").set_input_files(str(file))
        done.wait_for(timeout=60_000)
        assert bits_sent(sandbox) > 0


def test_ct_page_reads_each_study_and_receives_no_header_but_what_it_named(page: Page, demo_server: StreamlitServer) -> None:
    open_example(page, demo_server, "ct_triage")
    result = page.locator(".st-key-ct_triage_result")
    for study, says in (("ct_small_disc.dcm", "Mostly air ("), ("ct_large_disc.dcm", "Mostly tissue (")):
        pick(page, [DATA / study])
        result.get_by_text(says).wait_for(timeout=60_000)
        assert "CT of the chest" in result.inner_text()
        assert bits_sent(sandbox_frame(page)) > 0
        # The person sees the study as the model got it, lung-windowed ([-600, 1500]): the
        # tissue disc (40 HU) at 0.927 of white at the centre, air (-1000 HU) at 0.234.
        canvas = sandbox_frame(page).locator("#preview")
        canvas.wait_for(state="visible")
        grey = canvas.evaluate("""c => {
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          const at = (x, y) => d[4 * (y * c.width + x)];
          return { centre: at(c.width >> 1, c.height >> 1), corner: at(3, 3) };
        }""")
        window = lambda hu: ((hu + 600.5) / 1499 + 0.5) * 255  # noqa: E731
        assert abs(grey["centre"] - window(40)) <= 3 and abs(grey["corner"] - window(-1000)) <= 3, (study, grey)
    # The demo header's name and ID are in the file, and nowhere in the page Python wrote.
    assert b"Demo^Patient" in (DATA / "ct_small_disc.dcm").read_bytes()
    shown = page.locator("[data-testid=stMain]").inner_text()
    assert "Demo^Patient" not in shown and "DEMO-0001" not in shown


def test_batch_shows_one_row_per_file_in_the_order_picked(page: Page, demo_server: StreamlitServer) -> None:
    run_example(page, demo_server, "batch")
    files = SAMPLES["batch"][1]
    rows = table(page, "batch")
    # Rows: position in the batch (never the file name), status, top-1 label, score.
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(files) + 1)]
    assert [r[1] for r in rows] == ["ok"] * len(files)
    assert [r[2] for r in rows] == [DIGIT_NAMES[int(f.stem.removeprefix("scan_"))] for f in files]
    assert metric(page, "batch") == f"{len(files)} of {len(files)}"
    # The receipt line totals the batch: every file's result leaves together.
    receipt = sandbox_frame(page).locator("#receipt").inner_text()
    assert receipt.startswith(f"Sent to server: the results of {len(files)} files ("), receipt
    assert re.search(r"your files: 0 bytes; at most \d+ bits derived from them were sent; kept in this browser: logits, probabilities",
                     receipt), receipt
    assert not any(f.name in page.content() for f in files)


# Trained by scikit-learn, whose float64 arithmetic runs in the BLAS kernels of the CPU at hand
# (another vector width sums in another order): a fresh run on another CPU gives another last
# bit, so these are held to what they do, not to their bytes.
TRAINED = {Path("models/digits16_mlp.onnx"), Path("models/digits16_mlp.preprocess.json")}


def digit_probabilities(model: Path, preprocess: dict) -> np.ndarray:
    """The model's probabilities for the committed sample scans, preprocessed as its JSON says."""
    from PIL import Image

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    scans = [Image.open(DATA / f"scan_{d}.png").resize(tuple(preprocess["size"]), Image.BILINEAR) for d in range(10)]
    x = np.stack([np.asarray(s, dtype=np.float32).reshape(-1) * np.float32(preprocess["scale"]) for s in scans])
    x = (x - np.float32(preprocess["mean"][0])) / np.float32(preprocess["std"][0])
    return session.run(["probabilities"], {"pixels": x.astype(np.float32)})[0]


def test_generator_rewrites_the_committed_example_files(tmp_path: Path) -> None:
    """scripts/gen_example_models.py is seeded and idempotent: a fresh run gives the committed
    bytes, and for the trained model the same network, preprocessing and answers."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_example_models.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert TRAINED <= set(generated), generated
    for rel in generated:
        if rel in TRAINED:
            continue
        assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == \
            hashlib.sha256((EXAMPLES / rel).read_bytes()).hexdigest(), f"examples/{rel} differs from a fresh run"
    fresh, committed = (json.loads((root / "models" / "digits16_mlp.preprocess.json").read_text())
                        for root in (tmp_path, EXAMPLES))
    assert {k: v for k, v in fresh.items() if k not in ("mean", "std")} == \
        {k: v for k, v in committed.items() if k not in ("mean", "std")}
    np.testing.assert_allclose(fresh["mean"] + fresh["std"], committed["mean"] + committed["std"], rtol=1e-5)
    import onnx

    graphs = [onnx.load(str(root / "models" / "digits16_mlp.onnx")).graph for root in (tmp_path, EXAMPLES)]
    assert [n.op_type for n in graphs[0].node] == [n.op_type for n in graphs[1].node]
    assert [list(i.dims) for i in graphs[0].initializer] == [list(i.dims) for i in graphs[1].initializer]
    answers = [digit_probabilities(root / "models" / "digits16_mlp.onnx", committed) for root in (tmp_path, EXAMPLES)]
    assert (answers[0].argmax(axis=1) == np.arange(10)).all() and (answers[1].argmax(axis=1) == np.arange(10)).all()
    np.testing.assert_allclose(answers[0], answers[1], atol=0.05)
