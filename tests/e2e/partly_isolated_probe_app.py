"""The probe app with isolation headers, but a Permissions-Policy that keeps isolation from the sandbox.

`cross-origin-isolated=(self)` lets the page and the same-origin component frame be isolated,
but not the sandbox frame (an opaque origin), so the engine's Worker is not.
"""

import streamlit as st

from streamlit_secure_context import security_middleware

app = st.App("probe_app.py", middleware=[security_middleware(permissions_policy="cross-origin-isolated=(self)")])
