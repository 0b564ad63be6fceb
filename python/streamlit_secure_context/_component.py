"""The private component declaration; the public API is in `_api.py`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "frontend"


class AssetsMissingError(RuntimeError):
    """The package was used from a source checkout whose browser assets were never built."""


_component_func: Callable[..., Any] | None = None


def component_func() -> Callable[..., Any]:
    """Declares the component on first use, not at import.

    Declaring needs a running Streamlit runtime, and an ``st.App`` launcher imports this
    package (for `security_middleware`) before the runtime exists.
    """
    global _component_func
    if _component_func is None:
        if not (FRONTEND / "index.html").is_file():
            raise AssetsMissingError(
                f"the component's browser assets are missing from {FRONTEND}. "
                "In a source checkout, run scripts/build; an installed wheel always carries them."
            )
        _component_func = components.declare_component("streamlit_secure_context", path=str(FRONTEND))
    return _component_func
