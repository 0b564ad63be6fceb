"""The model zoo (scripts/model_zoo.py): real exported models from PyPI wheels, run natively.

docs/model-zoo.md is the script's output, so the load and correct-run rates in the docs are
the ones this run measured; every model either matches its reference runtime (onnxruntime,
the LiteRT interpreter) or fails with a typed error whose message is the engine's own, never
tract's text.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_CODES = (ROOT / "crates" / "engine" / "src" / "error.rs").read_text()


@pytest.fixture(scope="module")
def zoo():
    spec = importlib.util.spec_from_file_location("model_zoo", ROOT / "scripts" / "model_zoo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_zoo"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(zoo, cli: str) -> list[dict]:
    return zoo.run(cli)


def test_the_docs_report_this_runs_figures(zoo, rows: list[dict]) -> None:
    assert (ROOT / "docs" / "model-zoo.md").read_text() == zoo.markdown(rows), \
        "regenerate: SSC_CLI=... python scripts/model_zoo.py --markdown > docs/model-zoo.md"


def test_every_model_is_correct_or_a_typed_error_in_the_engines_words(rows: list[dict]) -> None:
    for row in rows:
        if row["correct"] is not False:  # correct, or ran where no reference runtime can check it
            continue
        code, message = row["error"]["code"], row["error"]["message"]
        assert code != "mismatch", f"{row['model']} runs but gives wrong numbers: {message}"
        assert f'=> "{code}"' in ENGINE_CODES, row
        # tract's own account stays out of what an app is told.
        for tract_words in ("Infering facts", "Translating node", "ToTypedTranslator", "GivenRule"):
            assert tract_words not in message, row


def test_the_open_dim_exports_run_correctly(rows: list[dict]) -> None:
    """PaddleOCR's -1, ?, and p2o.DynamicDimension dims: every one loaded before this round failed."""
    paddle = [r for r in rows if r["model"].startswith("ch_")]
    assert len(paddle) == 3 and all(r["correct"] for r in paddle), paddle


def test_the_page_does_not_depend_on_the_cpus_rounding(zoo, rows: list[dict]) -> None:
    """Another CPU sums in another order: the page must read the same whatever the differences are."""
    for scale in (0.0, 0.37, 3.1):
        other_cpu = [{**r, "max_abs_diff": r["max_abs_diff"] * scale} if "max_abs_diff" in r else r for r in rows]
        assert zoo.markdown(other_cpu) == zoo.markdown(rows)
