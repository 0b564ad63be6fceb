"""Refuses to build the package without the browser assets that `scripts/build` makes.

They are not committed: a wheel built without them would install and then fail at the first
call of the component, so every build checks them against the manifest the asset build wrote.
"""

import hashlib
import json
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

FRONTEND = Path(__file__).parent / "streamlit_secure_context" / "frontend"


def asset_problems() -> list[str]:
    try:
        files = json.loads((FRONTEND / "manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as e:
        return [f"no readable frontend/manifest.json ({e})"]
    problems = []
    for name, sha256 in sorted(files.items()):
        path = FRONTEND / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            problems.append(f"{name}: sha256 differs from the manifest")
    return problems


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        problems = asset_problems()
        if problems:
            raise SystemExit(
                "streamlit-secure-context: refusing to build without the component's browser assets: "
                + "; ".join(problems) + ". Build them first (scripts/wheel does, through scripts/build)."
            )
        super().run()


setup(cmdclass={"build_py": BuildPyWithAssets})
