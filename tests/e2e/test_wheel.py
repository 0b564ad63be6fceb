"""The wheel as a user gets it: built from the checkout's assets, installed with pip alone into a
fresh venv, and the demo app run from that venv in the browser.

The venv sees neither the checkout nor the dev venv: the app is a copy of `examples/` in a
temporary directory, and PYTHONPATH is dropped. Set SSC_WHEEL to test a wheel built elsewhere
(`dist/`'s, say) instead of one built here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

import streamlit_secure_context

from helpers import COMPONENT_IFRAME, ROOT, StreamlitServer, build_wheel, isolated_env


SSC_CACHE = Path(os.environ.get("SSC_CACHE", Path.home() / ".cache" / "streamlit-secure-context"))
# One venv per wheel content: reused while the assets and the package do not change.
VENVS = SSC_CACHE / "wheel-venvs"
# A venv is some 500 MB; one unused for an hour is removed (a test run touches the one it uses).
STALE_AFTER_S = 3600
REQUIREMENTS = ROOT / "python" / "requirements-dev.txt"
FRONTEND = "streamlit_secure_context/frontend/"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def venv_python(wheel: Path) -> Path:
    """A venv holding only the wheel and what pip resolves for it (pinned like the dev venv)."""
    key = f"{sha256(wheel.read_bytes())[:16]}-{sha256(REQUIREMENTS.read_bytes())[:8]}"
    venv = VENVS / key
    VENVS.mkdir(parents=True, exist_ok=True)
    with (VENVS / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another checkout may be building or pruning venvs now
        for old in VENVS.iterdir():
            complete = old / ".complete"
            # Under the lock, a venv without the marker is a failed install, never one in progress.
            stale = not complete.exists() or time.time() - complete.stat().st_mtime > STALE_AFTER_S
            if old.is_dir() and old != venv and stale:
                shutil.rmtree(old)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=isolated_env())
            # The constraints only pin versions (streamlit's, numpy's, ...); they add no package.
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel),
                            "--constraint", str(REQUIREMENTS)], check=True, env=isolated_env())
        (venv / ".complete").touch()  # marks it in use, so a prune elsewhere leaves it
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/, so the app's own directory holds nothing importable from the checkout."""
    directory = tmp_path_factory.mktemp("installed") / "examples"
    shutil.copytree(ROOT / "examples", directory, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "app.py").rename(directory / "installed_app.py")
    return directory


@pytest.fixture(scope="module")
def installed_server(venv_python: Path, app_dir: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(app_dir / "installed_app.py", python=str(venv_python), cwd=app_dir, env=isolated_env())
    yield server
    server.stop()


def test_wheel_carries_the_assets_its_manifest_records(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read(FRONTEND + "manifest.json"))["files"]
        shipped = {n.removeprefix(FRONTEND) for n in names if n.startswith(FRONTEND)} - {"manifest.json"}
        assert shipped == set(manifest)
        assert {"index.html", "engine/engine.js", "engine/engine.wasm"} <= shipped
        for name, expected in manifest.items():
            assert sha256(zf.read(FRONTEND + name)) == expected, name
        assert "streamlit_secure_context/py.typed" in names


def test_installed_package_is_the_wheel(venv_python: Path, app_dir: Path) -> None:
    probe = (
        "import json, sys, importlib.metadata as m, streamlit_secure_context as s; "
        "d = m.distribution('streamlit-secure-context'); "
        "print(json.dumps({'file': s.__file__, 'version': s.__version__, 'dist_version': d.version, "
        "'license': d.metadata['License-Expression'], 'path': sys.path, "
        "'license_file': any(str(f).endswith('licenses/LICENSE') for f in d.files)}))"
    )
    out = subprocess.run([str(venv_python), "-c", probe], cwd=app_dir, env=isolated_env(), check=True,
                         capture_output=True, text=True).stdout
    found = json.loads(out)
    assert Path(found["file"]).is_relative_to(venv_python.parents[1])
    assert str(ROOT / "python") not in found["path"]
    assert found["version"] == found["dist_version"] == streamlit_secure_context.__version__
    assert found["license"] == "Apache-2.0" and found["license_file"]


def test_demo_runs_from_the_installed_wheel(page: Page, installed_server: StreamlitServer, app_dir: Path) -> None:
    """The README's demo from the installed package: Python's tensor, then a picked image."""
    page.goto(installed_server.url)
    page.get_by_text("Predicted digit: 7").wait_for(timeout=60_000)
    image_component = page.locator(COMPONENT_IFRAME).nth(1).content_frame.frame_locator("#sandbox")
    image_component.locator("#pick").wait_for(state="visible", timeout=30_000)
    image_component.locator("#file").set_input_files(str(app_dir / "data" / "digit_3.png"))
    page.locator(".st-key-image_result").get_by_text("Predicted digit: 3").wait_for(timeout=60_000)


def test_build_refuses_without_the_assets(tmp_path: Path) -> None:
    project = tmp_path / "python"
    shutil.copytree(ROOT / "python", project, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (project / "streamlit_secure_context" / "frontend" / "engine" / "engine.wasm").unlink()
    with pytest.raises(build_wheel.WheelBuildError, match="refusing to build .*engine/engine.wasm: missing"):
        build_wheel.build_wheel(tmp_path / "dist", project)
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())
