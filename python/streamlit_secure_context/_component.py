"""The private component declaration; the public API is in `_api.py`."""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "frontend"


class AssetsMissingError(RuntimeError):
    """The package was used from a source checkout whose browser assets were never built."""


def _declare():
    if not (FRONTEND / "index.html").is_file():
        return None
    return components.declare_component("streamlit_secure_context", path=str(FRONTEND))


_component_func = _declare()


def component_func():
    if _component_func is None:
        raise AssetsMissingError(
            f"the component's browser assets are missing from {FRONTEND}. "
            "In a source checkout, run scripts/build; an installed wheel always carries them."
        )
    return _component_func
