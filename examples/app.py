"""The examples: models run in the browser; Python receives only results.

Run with ./scripts/demo (it builds the component first), or `streamlit run examples/app.py`
once the component is built. Each page is one example; see examples/README.md.
"""

import streamlit as st

st.set_page_config(page_title="streamlit-secure-context examples", page_icon=":material/lock:")

pages = [
    st.Page("quick_start/page.py", title="Quick start", icon=":material/play_arrow:", default=True),
    st.Page("risk_score/page.py", title="Tabular risk score", icon=":material/table_chart:", url_path="risk_score"),
    st.Page("digit_classifier/page.py", title="Image classifier", icon=":material/draw:", url_path="digit_classifier"),
    st.Page("face_detection/page.py", title="Face detection", icon=":material/face:", url_path="face_detection"),
    st.Page("batch/page.py", title="Batch of images", icon=":material/photo_library:", url_path="batch"),
    st.Page("ct_triage/page.py", title="CT study (DICOM)", icon=":material/medical_information:", url_path="ct_triage"),
]
st.navigation(pages).run()
