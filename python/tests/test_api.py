"""The public function: model resolution, and what it returns for which component value."""

from pathlib import Path

import pytest

import streamlit_secure_context._api as api
from streamlit_secure_context import streamlit_secure_context

MODEL = Path(__file__).resolve().parents[2] / "examples" / "models" / "digits_mlp.onnx"
PARAMS = {"input": [0.0] * 64, "shape": [1, 64]}


@pytest.fixture()
def component(monkeypatch):
    """Replaces the browser with a recorder that answers with `value`."""
    calls = {}

    def fake_component(**kwargs):
        calls.update(kwargs)
        value = calls.get("answer")
        return value(kwargs) if callable(value) else value

    monkeypatch.setattr(api, "component_func", lambda: fake_component)
    monkeypatch.setattr(api, "model_url", lambda model, coordinates: f"/media/{model.sha256}.bin")
    return calls


def test_missing_model_fails_fast(component):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        streamlit_secure_context("nope.onnx", inference_params=PARAMS)


def test_unknown_keyword_fails_fast(component):
    with pytest.raises(TypeError, match="colour"):
        streamlit_secure_context(MODEL, inference_params=PARAMS, colour="red")


def test_sends_the_model_by_url_not_bytes(component):
    assert streamlit_secure_context(MODEL, inference_params=PARAMS, key="k") is None
    import hashlib

    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    # The URL is the fixture's stand-in for Streamlit's media manager; what matters is that a
    # URL, the file's sha256, name and size are sent, and no bytes.
    assert component["model"] == {"url": f"/media/{sha}.bin", "sha256": sha, "name": MODEL.name, "size": MODEL.stat().st_size}
    assert component["request"]["input"]["shape"] == [1, 64]
    assert component["key"] == "k" and component["default"] is None


def test_returns_result_for_this_request_only(component):
    streamlit_secure_context(MODEL, inference_params=PARAMS)
    key = component["request_key"]
    component["answer"] = {"status": "ok", "outputs": {}, "request_key": key}
    assert streamlit_secure_context(MODEL, inference_params=PARAMS) == {"status": "ok", "outputs": {}}
    # A result computed for other inputs (before a rerun changed them) is not returned.
    other = {"input": [1.0] * 64, "shape": [1, 64]}
    assert streamlit_secure_context(MODEL, inference_params=other) is None


def test_model_pin_must_match_the_file(component):
    import hashlib

    sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    streamlit_secure_context(MODEL, inference_params=PARAMS, sha256=sha)
    # The browser engine verifies the downloaded bytes against exactly this value.
    assert component["model"]["sha256"] == sha
    with pytest.raises(ValueError, match="the file changed since it was pinned"):
        streamlit_secure_context(MODEL, inference_params=PARAMS, sha256="0" * 64)
    with pytest.raises(ValueError, match="64 lowercase hex digits"):
        streamlit_secure_context(MODEL, inference_params=PARAMS, sha256=sha.upper())


def test_require_isolation_reaches_the_component(component):
    streamlit_secure_context(MODEL, inference_params=PARAMS)
    assert component["require_isolation"] is False
    loose_key = component["request_key"]
    streamlit_secure_context(MODEL, inference_params=PARAMS, security_config={"require_isolation": True})
    assert component["require_isolation"] is True
    # A result computed without the requirement does not answer a request with it.
    assert component["request_key"] != loose_key


def test_disclosure_policy_rides_in_the_request_and_changes_its_key(component):
    streamlit_secure_context(MODEL, inference_params=PARAMS)
    assert "disclosure" not in component["request"]
    plain_key = component["request_key"]
    streamlit_secure_context(MODEL, inference_params=PARAMS, security_config={"disclosure": {"decimals": 2}})
    assert component["request"]["disclosure"] == {"decimals": 2}
    # A result computed under another policy is never returned as this one's.
    assert component["request_key"] != plain_key
