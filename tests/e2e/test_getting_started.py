"""The first app of docs/getting-started.md, run as written: the page's code block is the app."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import Page

from helpers import ROOT, StreamlitServer, sandbox_frame


GETTING_STARTED = ROOT / "docs" / "getting-started.md"


def first_app_source() -> str:
    section = GETTING_STARTED.read_text().split("## 2. A first app", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/getting-started.md: no python block under '## 2. A first app'"
    return match.group(1)


def test_getting_started_first_app_answers_patients_csv(page: Page, tmp_path: Path) -> None:
    # As the page says: the model copied next to app.py, the app run from there.
    (tmp_path / "app.py").write_text(first_app_source())
    shutil.copy(ROOT / "examples" / "models" / "breast_cancer_logreg.onnx", tmp_path)
    server = StreamlitServer(tmp_path / "app.py", cwd=tmp_path)
    try:
        page.goto(server.url)
        sandbox = sandbox_frame(page)
        sandbox.locator("#pick").wait_for(state="visible", timeout=60_000)
        sandbox.locator("#file").set_input_files(str(ROOT / "examples" / "data" / "patients.csv"))
        page.locator('[data-testid="stDataFrame"]').wait_for(timeout=60_000)
        assert page.locator('[data-testid="stAlert"]').count() == 0
        assert "your file: 0 bytes" in sandbox.locator("#receipt").inner_text()
    finally:
        server.stop()
