"""Builds the pip wheel from the browser assets `scripts/build` left in the package.

Usage: python scripts/build_wheel.py OUT_DIR   (prints the wheel's path)

The build runs on a staged copy of python/ with the repository's README.md and LICENSE copied
in, because setuptools reads no file outside the project directory; the copy also keeps every
build clean of a previous one's build/ directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Zip timestamps carry nothing here; a fixed one makes the wheel a function of its contents,
# so its sha256 can key the e2e test's cached venv.
FIXED_TIMESTAMP = "315532800"  # 1980-01-01, the earliest a zip can hold


class WheelBuildError(RuntimeError):
    """The build failed; the message is its output."""


def build_wheel(out_dir: Path, project: Path = ROOT / "python") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "python"
        shutil.copytree(project, stage,
                        ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build", "requirements*"))
        shutil.copy(ROOT / "README.md", stage)
        shutil.copy(ROOT / "LICENSE", stage)
        built = Path(tmp) / "dist"
        run = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(built), str(stage)],
                             env={**os.environ, "SOURCE_DATE_EPOCH": FIXED_TIMESTAMP},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            raise WheelBuildError(run.stdout)
        (wheel,) = built.glob("*.whl")
        return Path(shutil.copy(wheel, out_dir))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        print(build_wheel(Path(sys.argv[1])))
    except WheelBuildError as e:
        sys.exit(f"{e}\nthe wheel build failed (its output is above)")
