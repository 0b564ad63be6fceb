"""The probe app served through st.App with the package's security middleware."""

import streamlit as st

from streamlit_secure_context import security_middleware

app = st.App("probe_app.py", middleware=[security_middleware()])
