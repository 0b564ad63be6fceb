"""Which Streamlit this package needs, for what: one place, read by the gates and the doctor.

The component itself runs on every Streamlit from `MIN_STREAMLIT` (the lower bound in
pyproject.toml, which tests/e2e/test_compat.py holds to this constant): that is the first
release whose v1 components take ``on_change``. Features of newer releases are gated where
they are used, never at import, so an app on an older Streamlit keeps everything else.
"""

from __future__ import annotations

import re

MIN_STREAMLIT = "1.36"
# st.App, the ASGI launcher whose middleware= list security_middleware() is made for.
APP_MIDDLEWARE_STREAMLIT = "1.57"


class StreamlitTooOldError(RuntimeError):
    """A feature of this package needs a newer Streamlit than the one installed."""


def installed_streamlit() -> str:
    import streamlit

    return str(streamlit.__version__)


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: "1.45.1" -> (1, 45, 1), "1.50.0rc1" -> (1, 50, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def at_least(version: str, minimum: str) -> bool:
    return _release(version) >= _release(minimum)


def require_streamlit(minimum: str, feature: str) -> None:
    """Raises `StreamlitTooOldError` naming `feature` and the release it needs, unless installed."""
    installed = installed_streamlit()
    if not at_least(installed, minimum):
        raise StreamlitTooOldError(
            f"{feature} needs Streamlit {minimum} or newer; this environment has Streamlit {installed}. "
            f"Upgrade it (pip install 'streamlit>={minimum}'), or leave {feature} out: the component itself "
            f"works on Streamlit {MIN_STREAMLIT} and newer."
        )
