"""The public API type-checks under ``mypy --strict``, and the TypedDicts catch mistakes.

`typing/accepted.py` uses every argument type the way the docs show; `typing/rejected.py`
holds one mistake per line marked ``# rejected``, each of which mypy must report, so this
test fails if the TypedDicts stop catching one.
"""

import re
import subprocess
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
TYPING_DIR = Path(__file__).resolve().parent / "typing"


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # From the package's parent directory, so mypy finds this checkout's package (mypy does
    # not read PYTHONPATH); the cache makes reruns take seconds.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-color-output", "--cache-dir", ".mypy_cache", *args],
        cwd=PYTHON_DIR, capture_output=True, text=True, timeout=600,
    )


def test_the_package_and_typed_usage_pass_strict_mypy():
    run = mypy("streamlit_secure_context", str(TYPING_DIR / "accepted.py"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_types_check_as_python_3_10_too():
    # The oldest Python the package supports, where Required and NotRequired come from
    # typing_extensions. Only these files are checked (the rest of the package is followed
    # silently): pandas' stubs, which _dataframe.py leans on, are for 3.11 and later.
    run = mypy(
        "--python-version", "3.10", "--follow-imports=silent",
        "streamlit_secure_context/_types.py", "streamlit_secure_context/_request_checks.py", "streamlit_secure_context/_schema.py", str(TYPING_DIR / "accepted.py"),
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_marked_mistake_is_rejected_and_nothing_else():
    source = (TYPING_DIR / "rejected.py").read_text(encoding="utf-8").splitlines()
    marked = {n for n, line in enumerate(source, start=1) if line.endswith("# rejected")}
    assert len(marked) >= 10, "the file lost its marked mistakes"
    run = mypy(str(TYPING_DIR / "rejected.py"))
    assert run.returncode == 1, run.stdout + run.stderr
    reported = {int(m) for m in re.findall(r"rejected\.py:(\d+): error:", run.stdout)}
    assert reported == marked, run.stdout

