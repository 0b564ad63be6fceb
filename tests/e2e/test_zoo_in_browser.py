"""A sample of the model zoo (scripts/model_zoo.py) in the browser: real exported models with
open dims, and Silero's If on its sample rate (folded at plan time), run by the wasm engine on
the zoo's seeded inputs, give onnxruntime's numbers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from helpers import ROOT, StreamlitServer, wait_result


SAMPLE = ["ch_ppocr_mobile_v2.0_cls_infer.onnx", "silero_vad_op18_ifless.onnx", "silero_vad.onnx"]


def load_zoo():
    spec = importlib.util.spec_from_file_location("model_zoo", ROOT / "scripts" / "model_zoo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_zoo"] = module
    spec.loader.exec_module(module)
    return module


zoo = load_zoo()
# By file name; of two entries for one file, the last (silero_vad.onnx: at 8 kHz).
ENTRIES = {Path(e.path).name: (w, e) for w in zoo.ZOO for e in w.entries}


@pytest.mark.parametrize("name", SAMPLE)
def test_a_zoo_model_runs_in_the_browser_as_in_onnxruntime(page: Page, probe_server: StreamlitServer, tmp_path: Path,
                                                           name: str) -> None:
    wheel, entry = ENTRIES[name]
    model = zoo.model_file(wheel, entry)
    inputs = zoo.seeded_inputs(model, entry)
    request = {k: v.tolist() for k, v in inputs.items()}
    (tmp_path / "inputs.json").write_text(json.dumps(request))
    page.goto(f"{probe_server.url}/?case=zoo&model={model}&inputs={tmp_path / 'inputs.json'}")
    result = wait_result(page, timeout=120)
    assert result["status"] == "ok", result
    for output, want in zoo.reference(model, inputs).items():
        got = result["outputs"][output]
        assert got["shape"] == list(want.shape)
        np.testing.assert_allclose(np.asarray(got["data"]).reshape(want.shape), want, rtol=zoo.RTOL, atol=zoo.ATOL)
