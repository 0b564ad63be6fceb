"""The probe app behind `security_middleware(**options)`, the options as JSON in SSC_PROBE_MIDDLEWARE."""

import json
import os

import streamlit as st

from streamlit_secure_context import security_middleware

app = st.App("probe_app.py", middleware=[security_middleware(**json.loads(os.environ["SSC_PROBE_MIDDLEWARE"]))])
