"""The picker's keyword arguments and batch requests: checked in Python, sent as `ui` and `batch`."""

from pathlib import Path

import pytest

import streamlit_secure_context._api as api
from streamlit_secure_context import streamlit_secure_context
from streamlit_secure_context._params import build_request, build_ui

MODEL = Path(__file__).resolve().parents[2] / "examples" / "models" / "digits_mlp.onnx"
IMAGE = {"source": "file", "preprocess": {"kind": "image", "size": [8, 8]}, "postprocess": {"top_k": 1}}
BATCH = {**IMAGE, "source": "files"}


@pytest.fixture()
def component(monkeypatch):
    """Replaces the browser with a recorder of the component's arguments."""
    calls = {}

    def fake_component(**kwargs):
        calls.update(kwargs)

    monkeypatch.setattr(api, "component_func", lambda: fake_component)
    monkeypatch.setattr(api, "model_url", lambda model, coordinates: f"/media/{model.sha256}.bin")
    return calls


def test_defaults_send_the_default_label_and_no_batch(component):
    streamlit_secure_context(MODEL, inference_params=IMAGE)
    assert component["ui"] == {"label": "Choose a file", "help": None, "disabled": False, "height": None}
    assert component["batch"] is None and component["on_change"] is None


def test_ui_arguments_and_on_change_reach_the_component(component):
    def changed() -> None:
        pass

    streamlit_secure_context(MODEL, inference_params=BATCH, on_change=changed, disabled=True, height=320,
                             help="PNG scans", label="Scans to read")
    assert component["ui"] == {"label": "Scans to read", "help": "PNG scans", "disabled": True, "height": 320}
    assert component["batch"] == {"max_files": 100}
    assert component["on_change"] is changed


def test_a_batch_defaults_to_the_plural_label_and_takes_max_files(component):
    streamlit_secure_context(MODEL, inference_params={**BATCH, "max_files": 5})
    assert component["ui"]["label"] == "Choose files"
    assert component["batch"] == {"max_files": 5}
    # A batch and a single file ask the same of the engine, but are different requests: a single
    # result must never answer a batch.
    batch_key = component["request_key"]
    streamlit_secure_context(MODEL, inference_params=IMAGE)
    assert component["request_key"] != batch_key


def test_ui_arguments_are_keyword_only(component):
    with pytest.raises(TypeError):
        streamlit_secure_context(MODEL, None, IMAGE, "k", 0, None, None, True)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"disabled": "yes"}, TypeError, "disabled must be True or False"),
        ({"disabled": 1}, TypeError, "disabled must be True or False"),
        ({"height": 0}, ValueError, "height must be a positive number of pixels"),
        ({"height": 200.5}, ValueError, "height must be a positive number of pixels"),
        ({"height": True}, ValueError, "height must be a positive number of pixels"),
        ({"label": 3}, TypeError, "label must be a str"),
        ({"label": "  "}, ValueError, "label must not be empty"),
        ({"label": "x" * 1001}, ValueError, "label has 1001 characters; at most 1000"),
        ({"help": ["a"]}, TypeError, "help must be a str"),
        ({"on_change": "rerun"}, TypeError, "on_change must be a function"),
    ],
)
def test_bad_ui_arguments_fail_before_anything_reaches_the_browser(component, kwargs, error, match):
    with pytest.raises(error, match=match):
        streamlit_secure_context(MODEL, inference_params=IMAGE, **kwargs)
    assert component == {}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({**BATCH, "max_files": 0}, "max_files must be a positive integer"),
        ({**BATCH, "max_files": "10"}, "max_files must be a positive integer"),
        ({**BATCH, "max_files": True}, "max_files must be a positive integer"),
        ({**IMAGE, "max_files": 3}, r"unknown key\(s\) \['max_files'\]"),
        ({**IMAGE, "source": "folder"}, 'source must be "file" \\(one file\\) or "files" \\(a batch\\)'),
    ],
)
def test_bad_batch_params_fail_fast(params, match):
    with pytest.raises(ValueError, match=match):
        build_request(params)


def test_a_batch_is_the_same_engine_request_as_one_file():
    single, batch = build_request(IMAGE), build_request({**BATCH, "max_files": 7})
    assert batch.request == single.request and batch.accept == single.accept
    assert (single.max_files, batch.max_files) == (None, 7)


def test_build_ui_leaves_help_out_when_none():
    assert build_ui(label=None, help=None, disabled=False, height=None, batch=True)["help"] is None
