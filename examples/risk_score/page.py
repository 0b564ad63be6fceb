"""Tabular risk score: the person picks a patient CSV; Python receives one probability per row."""

from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context, to_dataframe

MODEL = Path(__file__).parent.parent / "models" / "breast_cancer_logreg.onnx"
# scikit-learn's breast-cancer targets: 0 is malignant, 1 benign.
CLASSES = ["P(malignant)", "P(benign)"]

st.title("Tabular risk score")
st.write(
    "Pick a CSV of tumour measurements, one patient per row: the 30 columns of scikit-learn's "
    "breast-cancer data, with a header (try `examples/data/patients.csv`). A logistic regression "
    "scores every row in your browser; this server receives only the probabilities."
)

result = streamlit_secure_context(
    MODEL,
    inference_params={"source": "file", "accept": [".csv"], "preprocess": {"kind": "csv", "header": True}},
    # Only the probabilities leave, rounded: the logits stay in the browser.
    security_config={"disclosure": {"outputs": ["probabilities"], "decimals": 4}},
    key="risk",
    label="Patient measurements (CSV)",
    help="One row per patient with the 30 measurements as columns, header first.",
)

with st.container(key="risk_score_result"):
    if result is None:
        st.info("No result yet: choose a CSV above.")
    elif result["status"] == "ok":
        table = to_dataframe(result, "probabilities", columns=CLASSES)
        table.insert(0, "patient", range(1, len(table) + 1))
        flagged = int((table["P(malignant)"] >= 0.5).sum())
        st.metric("Patients with P(malignant) ≥ 0.5", f"{flagged} of {len(table)}")
        st.table(table.style.hide(axis="index").format("{:.4f}", subset=CLASSES))
        st.caption(f"Kept in your browser: {', '.join(w['output'] for w in result['receipt']['withheld'])}.")
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
