"""The DICOM test studies are made here, reproducibly: a fresh run of the generator gives the
committed bytes, so the goldens the engine is held to can always be rebuilt and checked."""

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "crates" / "engine" / "tests" / "dicom"


def test_gen_dicom_rewrites_the_committed_studies_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_dicom.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file())
    assert generated == committed
    for rel in generated:
        assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == \
            hashlib.sha256((COMMITTED / rel).read_bytes()).hexdigest(), f"{rel} differs from a fresh run"
