"""The installed component's browser assets against the sha256 the build recorded.

`component/build.mjs` writes ``manifest.json`` next to the assets; a file changed after the
build (by hand, by a bad copy, by a tampered package) no longer matches it.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._model import sha256_file
from .report import Check, fail, passed

REINSTALL = "reinstall streamlit-secure-context (in a source checkout: scripts/build)"


def load_manifest(frontend: Path) -> dict[str, str] | None:
    try:
        files = json.loads((frontend / "manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return None
    return files


def check_assets(frontend: Path, files: dict[str, str] | None) -> list[Check]:
    """``files`` is `load_manifest(frontend)`, read once by the caller and shared with the URL probe."""
    if files is None:
        return [fail("assets", f"no readable manifest.json in {frontend}", REINSTALL)]
    on_disk = {str(p.relative_to(frontend)) for p in frontend.rglob("*") if p.is_file()} - {"manifest.json"}
    problems = [f"{name}: missing" for name in sorted(set(files) - on_disk)]
    problems += [f"{name}: not in the manifest" for name in sorted(on_disk - set(files))]
    problems += [f"{name}: sha256 differs" for name in sorted(set(files) & on_disk) if sha256_file(frontend / name) != files[name]]
    if problems:
        return [fail("assets", f"the component's assets do not match their manifest: {'; '.join(problems)}", REINSTALL)]
    return [passed("assets", f"{len(files)} component assets match their recorded sha256")]
