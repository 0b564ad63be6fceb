"""The version matrix's venvs (compat_matrix.json): for each corner, a Python of its version with
its Streamlit already installed, as an app has it, cached under the cache folder.

`python tests/e2e/compat_venvs.py` makes them ahead of the tests: scripts/test runs it while the
engine builds, since it waits on downloads, not on the CPU. test_compat.py then finds them made.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX = json.loads((ROOT / "tests" / "e2e" / "compat_matrix.json").read_text())["corners"]
SSC_CACHE = Path(os.environ.get("SSC_CACHE", Path.home() / ".cache" / "streamlit-secure-context"))
VENVS = SSC_CACHE / "compat-venvs"


class NoInterpreter(RuntimeError):
    """This machine has no Python of a corner's version."""


def isolated_env() -> dict[str, str]:
    """The environment minus whatever would let the checkout or the dev venv be imported."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def interpreter(version: str) -> str:
    """A Python of that minor version: on PATH, or one of pyenv's (its shims hide inactive ones)."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}") or "", *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    raise NoInterpreter(f"no Python {version} on this machine: the version matrix needs one (python{version} on PATH, or pyenv's)")


def corner_id(corner: dict[str, str]) -> str:
    return f"py{corner['python']}-streamlit{corner['streamlit']}"


@contextmanager
def corner_venv(corner: dict[str, str]) -> Iterator[Path]:
    """The corner's venv, made if missing, held locked: another checkout, or scripts/test's
    early run, may be installing into it now. Yields its Python."""
    venv = VENVS / corner_id(corner)
    VENVS.mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    with (VENVS / f".{corner_id(corner)}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([interpreter(corner["python"]), "-m", "venv", str(venv)], check=True, env=isolated_env())
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"streamlit=={corner['streamlit']}", "pytest"],
                           check=True, env=isolated_env())
            (venv / ".complete").touch()
        yield python


if __name__ == "__main__":
    for corner in MATRIX:
        with corner_venv(corner):
            pass
