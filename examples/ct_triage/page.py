"""DICOM: the person picks a CT study; the browser reads it, header and all, and Python receives
two scores and two harmless header facts, never the patient's name or IDs."""

from pathlib import Path

import streamlit as st

from streamlit_secure_context import streamlit_secure_context, to_dataframe

MODEL = Path(__file__).parent.parent / "models" / "ct_air_tissue.onnx"
LABELS = ["mostly air", "mostly tissue"]

st.title("CT study (DICOM)")
st.write(
    "Pick a CT study as the scanner wrote it, a `.dcm` file (try `examples/data/ct_small_disc.dcm` "
    "or `ct_large_disc.dcm`). Your browser reads the file, applies its rescale (to Hounsfield units) "
    "and a lung window, and runs the model. The header, with the patient's name, IDs and dates, "
    "stays in your browser: this server receives the two scores, the modality and the body part."
)
st.caption(
    "The model is a stand-in, not a trained one: it scores how much of the lung-windowed slice is "
    "bright (tissue) or dark (air). Put your own model and window in its place."
)

result = streamlit_secure_context(
    MODEL,
    inference_params={
        "source": "file",
        "preprocess": {"kind": "dicom", "window": [-600, 1500], "size": [64, 64]},
        "postprocess": {"output": "probabilities", "top_k": 2, "labels": LABELS},
    },
    security_config={"disclosure": {"top_k_only": True, "decimals": 3, "dicom_attributes": ["Modality", "BodyPartExamined"]}},
    key="ct",
    label="A CT study (.dcm)",
)

with st.container(key="ct_triage_result"):
    if result is None:
        st.info("No result yet: choose a study above.")
    elif result["status"] == "ok":
        header = result["dicom_attributes"]
        st.success(f"{result['top_k'][0]['label'].capitalize()} ({result['top_k'][0]['score']:.1%}); "
                   f"{header['Modality']} of the {str(header['BodyPartExamined']).lower()}")
        st.table(to_dataframe(result)[["label", "score"]].style.format({"score": "{:.1%}"}))
    else:
        st.error(f"{result['error']['code']}: {result['error']['message']}")
