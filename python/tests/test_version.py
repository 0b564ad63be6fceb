"""One version and one licence across the Python package, the Rust crates and the component.

The rule (DEVELOPERS.md): the version is written once, as `__version__` in the package's
`__init__.py`; the wheel reads it from there. The Cargo workspace carries the same number, every
crate inherits it, and the private npm package, shipped only inside the wheel, has no version of
its own unless it is the same one.
"""

import json
import re
import tomllib
from pathlib import Path

import streamlit_secure_context

ROOT = Path(__file__).resolve().parents[2]
CRATES = sorted((ROOT / "crates").glob("*/Cargo.toml"))


def toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_the_wheel_takes_its_version_from_the_package():
    project = toml(ROOT / "python" / "pyproject.toml")
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "streamlit_secure_context.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", streamlit_secure_context.__version__)


def test_the_crates_carry_the_package_version():
    assert toml(ROOT / "Cargo.toml")["workspace"]["package"]["version"] == streamlit_secure_context.__version__
    assert CRATES, "no crates found"
    for manifest in CRATES:
        assert toml(manifest)["package"]["version"] == {"workspace": True}, manifest


def test_the_component_has_no_other_version():
    package = json.loads((ROOT / "component" / "package.json").read_text(encoding="utf-8"))
    assert package.get("private") is True
    assert package.get("version", streamlit_secure_context.__version__) == streamlit_secure_context.__version__


def test_one_licence_everywhere():
    assert toml(ROOT / "python" / "pyproject.toml")["project"]["license"] == "Apache-2.0"
    assert toml(ROOT / "Cargo.toml")["workspace"]["package"]["license"] == "Apache-2.0"
    for manifest in CRATES:
        assert toml(manifest)["package"]["license"] == {"workspace": True}, manifest
    assert json.loads((ROOT / "component" / "package.json").read_text(encoding="utf-8"))["license"] == "Apache-2.0"
    assert "Apache License\n                           Version 2.0" in (ROOT / "LICENSE").read_text(encoding="utf-8")
