"""A full-page screenshot of each example page after it ran, into test-results/screenshots/.

The pictures are for people to look at (a reviewer, a release note); the assertions only make
sure there is something to look at: the component's frame is not blank.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page

from helpers import COMPONENT_IFRAME, ROOT, StreamlitServer, run_example


SCREENSHOTS = ROOT / "test-results" / "screenshots"
# A blank frame is one color; the picker, its label and the status line give many more.
MIN_COLORS = 16


@pytest.mark.parametrize("name", [
    "risk_score",
    "digit_classifier",
    "face_detection",
    "batch",
])
def test_screenshot_of_each_example_after_it_ran(page: Page, demo_server: StreamlitServer, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    run_example(page, demo_server, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    frame = Image.open(io.BytesIO(page.locator(COMPONENT_IFRAME).screenshot())).convert("RGB")
    pixels = np.asarray(frame).reshape(-1, 3)
    colors = len(np.unique(pixels, axis=0))
    assert colors >= MIN_COLORS, f"the component's frame looks blank on {name}: {colors} colors"
