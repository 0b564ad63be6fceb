"""Whether the installed Streamlit runs the component, and the features the apps use."""

from __future__ import annotations

from pathlib import Path

from .._versions import APP_MIDDLEWARE_STREAMLIT, MIN_STREAMLIT, at_least, installed_streamlit
from .report import Check, fail, passed


def check_streamlit(apps: list[Path]) -> list[Check]:
    installed = installed_streamlit()
    if not at_least(installed, MIN_STREAMLIT):
        return [fail("streamlit_version", f"Streamlit {installed} is older than {MIN_STREAMLIT}, the oldest the component runs on",
                     f"pip install 'streamlit>={MIN_STREAMLIT}'")]
    if at_least(installed, APP_MIDDLEWARE_STREAMLIT):
        return [passed("streamlit_version", f"Streamlit {installed}: the component and security_middleware() are supported")]
    # A launcher that calls security_middleware() raises at startup on this Streamlit: say so now.
    users = [str(app) for app in apps if app.is_file() and "security_middleware" in app.read_text(encoding="utf-8", errors="replace")]
    if users:
        return [fail("streamlit_version",
                     f"{', '.join(users)} use(s) security_middleware(), which needs Streamlit {APP_MIDDLEWARE_STREAMLIT} "
                     f"or newer (st.App); this environment has {installed}",
                     f"pip install 'streamlit>={APP_MIDDLEWARE_STREAMLIT}', or drop the middleware and have your proxy "
                     "send the headers (docs/deployment.md)")]
    return [passed("streamlit_version", f"Streamlit {installed} runs the component; security_middleware() would need "
                                        f"{APP_MIDDLEWARE_STREAMLIT} (set the headers in your proxy instead)")]
