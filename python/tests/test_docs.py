"""The pages of docs/ that restate the code are checked against it, so they cannot go stale."""

import json
import subprocess
from pathlib import Path

import onnx.defs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def ssc(cli: str, *args: str) -> str:
    return subprocess.run([cli, *args], check=True, capture_output=True, text=True).stdout


def test_supported_models_page_is_what_the_engine_reports(cli):
    generated = ssc(cli, "support", "--markdown")
    committed = (DOCS / "supported-models.md").read_text()
    assert committed == generated, (
        "docs/supported-models.md differs from the engine's list: regenerate it with "
        "`ssc support --markdown > docs/supported-models.md` and commit the result"
    )


def test_the_onnx_ml_operators_listed_are_the_onnx_specs(cli):
    listed = {op["name"] for op in json.loads(ssc(cli, "support"))["onnx_ml_operators"]}
    spec = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == "ai.onnx.ml"}
    assert listed == spec
