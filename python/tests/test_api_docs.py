"""docs/api.md is what scripts/gen_api_docs.py writes from the current docstrings and types."""

import importlib.util
from pathlib import Path

import streamlit_secure_context as ssc

ROOT = Path(__file__).resolve().parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "scripts" / "gen_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_docs_are_up_to_date():
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == generator().render(), "docs/api.md is out of date: run python scripts/gen_api_docs.py"


def test_every_public_name_has_a_section():
    text = generator().render()
    for name in ssc.__all__:
        assert f"### {name}\n" in text or f"### `{name}`\n" in text, name


def test_typed_dict_tables_say_which_keys_are_required():
    text = generator().render()
    assert "| `preprocess` | [Preprocess](#preprocess) | yes |" in text
    assert "| `max_files` | int | no |" in text
