"""The version matrix: the wheel installed into an app's existing environment, at each corner.

For each corner of compat_matrix.json (the oldest supported Streamlit on the oldest Python,
the newest on the newest), a venv that already holds that Streamlit gets the wheel with a
plain `pip install`, as a team adding the component to its app would. The test checks that
pip left the app's Streamlit alone, runs the package's unit tests there, and picks a CSV in
the browser against a `streamlit run` from that venv. The full suite runs on the main
version (requirements-dev.txt).
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from playwright.sync_api import Page

import streamlit_secure_context
from streamlit_secure_context._versions import MIN_STREAMLIT

from helpers import COMPONENT_IFRAME, ROOT, StreamlitServer, isolated_env


MATRIX = json.loads((ROOT / "tests" / "e2e" / "compat_matrix.json").read_text())["corners"]
SSC_CACHE = Path(os.environ.get("SSC_CACHE", Path.home() / ".cache" / "streamlit-secure-context"))
VENVS = SSC_CACHE / "compat-venvs"
MODEL = ROOT / "examples" / "models" / "breast_cancer_logreg.onnx"
CSV = ROOT / "examples" / "data" / "patients.csv"
# The package's own unit tests: those that need nothing but the package, pytest and what
# Streamlit brings (no onnxruntime, no CLI, no mypy, no checkout).
UNIT_TESTS = ["test_api.py", "test_request_checks.py", "test_doctor.py", "test_dataframe.py", "test_dataframe_batch.py",
              "test_params.py", "test_security_headers.py", "test_types.py", "test_ui_args.py"]


def interpreter(version: str) -> str:
    """A Python of that minor version: on PATH, or one of pyenv's (its shims hide inactive ones)."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}") or "", *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    pytest.fail(f"no Python {version} on this machine: the version matrix needs one (python{version} on PATH, or pyenv's)")


def corner_id(corner: dict[str, str]) -> str:
    return f"py{corner['python']}-streamlit{corner['streamlit']}"


@pytest.fixture(scope="module", params=MATRIX, ids=corner_id)
def corner_python(request: pytest.FixtureRequest, wheel: Path) -> Iterator[Path]:
    """A venv with the corner's Streamlit already installed (as an app has it), then the wheel."""
    corner = request.param
    venv = VENVS / corner_id(corner)
    VENVS.mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    with (VENVS / f".{corner_id(corner)}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another checkout may be installing into it now
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([interpreter(corner["python"]), "-m", "venv", str(venv)], check=True, env=isolated_env())
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"streamlit=={corner['streamlit']}", "pytest"],
                           check=True, env=isolated_env())
            (venv / ".complete").touch()
        # The app's environment keeps its Streamlit; only the component is replaced.
        subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "streamlit-secure-context"],
                       check=True, env=isolated_env())
        install = subprocess.run([str(python), "-m", "pip", "install", str(wheel)], env=isolated_env(),
                                 capture_output=True, text=True)
        assert install.returncode == 0, install.stdout + install.stderr
        yield python


def installed_version(python: Path, package: str) -> str:
    return subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
                          check=True, capture_output=True, text=True, env=isolated_env()).stdout.strip()


def test_pip_install_leaves_the_apps_streamlit_in_place(corner_python: Path, request: pytest.FixtureRequest) -> None:
    corner = request.node.callspec.params["corner_python"]
    assert installed_version(corner_python, "streamlit") == corner["streamlit"]
    assert installed_version(corner_python, "streamlit-secure-context") == streamlit_secure_context.__version__


def test_unit_tests_pass_in_the_corner(corner_python: Path, tmp_path: Path) -> None:
    # Run from elsewhere (python -m puts the working directory on sys.path), so the tests import
    # the installed package, never the checkout's.
    tests = [str(ROOT / "python" / "tests" / name) for name in UNIT_TESTS]
    run = subprocess.run([str(corner_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                         cwd=tmp_path, env=isolated_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", run.stdout), run.stdout[-2000:]
    where = subprocess.run([str(corner_python), "-c", "import streamlit_secure_context as s; print(s.__file__)"],
                           cwd=tmp_path, env=isolated_env(), capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(corner_python.parents[1])


@pytest.fixture(scope="module")
def corner_server(corner_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    app_dir = tmp_path_factory.mktemp("compat-app")
    shutil.copy(ROOT / "tests" / "e2e" / "compat_app.py", app_dir / "compat_app.py")
    shutil.copy(MODEL, app_dir / MODEL.name)
    server = StreamlitServer(app_dir / "compat_app.py", python=str(corner_python), cwd=app_dir, env=isolated_env())
    yield server
    server.stop()


def test_a_csv_picked_in_the_browser_reaches_python(page: Page, corner_server: StreamlitServer,
                                                    request: pytest.FixtureRequest) -> None:
    corner = request.node.callspec.params["corner_python"]
    page.goto(corner_server.url)
    sandbox = page.frame_locator(COMPONENT_IFRAME).frame_locator("#sandbox")
    sandbox.locator("#pick").wait_for(state="visible", timeout=60_000)
    sandbox.locator("#file").set_input_files(str(CSV))
    code = page.locator("code").filter(has_text='"result": {')
    code.wait_for(timeout=60_000)
    dumped = json.loads(code.inner_text())
    assert dumped["streamlit"] == corner["streamlit"]
    result = dumped["result"]
    assert result["status"] == "ok", result
    rows = np.loadtxt(CSV, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, {session.get_inputs()[0].name: rows})))
    got = result["outputs"]["probabilities"]
    np.testing.assert_allclose(np.asarray(got["data"]).reshape(got["shape"]), expected["probabilities"], atol=1e-4)


def test_readme_states_the_tested_matrix() -> None:
    """The README's table is the matrix plus the main version the full suite runs on."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Supported versions", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+\.\d+) \| ([\d.]+) \| (.+) \|$", section, flags=re.M)
    main_streamlit = re.search(r"^streamlit==(.+)$", (ROOT / "python" / "requirements-dev.txt").read_text(), flags=re.M)
    assert main_streamlit
    expected = {(c["python"], c["streamlit"]) for c in MATRIX} | {(f"{sys.version_info.major}.{sys.version_info.minor}", main_streamlit[1])}
    assert {(p, s) for p, s, _ in rows} == expected
    assert sum(what == "the full suite" for _, _, what in rows) == 1


def test_declared_ranges_start_at_the_oldest_corner() -> None:
    project = tomllib.loads((ROOT / "python" / "pyproject.toml").read_text())["project"]
    oldest = min(MATRIX, key=lambda c: tuple(int(x) for x in c["streamlit"].split(".")))
    assert f"streamlit>={MIN_STREAMLIT}" in project["dependencies"]
    assert oldest["streamlit"].startswith(MIN_STREAMLIT + ".")
    oldest_python = min((c["python"] for c in MATRIX), key=lambda v: tuple(int(x) for x in v.split(".")))
    assert project["requires-python"] == f">={oldest_python}"
